# Decide whether to build the CUDA backend.
#   TACHYON_CUDA=OFF   never
#   TACHYON_CUDA=ON    always; fail when nvcc or NCCL is missing
#   TACHYON_CUDA=AUTO  when both nvcc and NCCL are found (the CI machine has both, so CUDA code
#                      is always compiled there even though it has no GPU to run it)
set(TACHYON_HAVE_CUDA OFF)
if(NOT TACHYON_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  find_package(CUDAToolkit QUIET)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include /usr/include)
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib /usr/local/cuda/lib64
               /usr/lib/x86_64-linux-gnu)
  if(CMAKE_CUDA_COMPILER AND CUDAToolkit_FOUND AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(TACHYON_HAVE_CUDA ON)
  elseif(TACHYON_CUDA STREQUAL "ON")
    message(FATAL_ERROR "TACHYON_CUDA=ON but nvcc (${CMAKE_CUDA_COMPILER}), the CUDA toolkit or NCCL "
                        "(${NCCL_INCLUDE_DIR}, ${NCCL_LIBRARY}) was not found. Install them or pass -DTACHYON_CUDA=OFF.")
  endif()
endif()

if(TACHYON_HAVE_CUDA)
  set(CMAKE_CUDA_ARCHITECTURES ${TACHYON_CUDA_ARCH})
  enable_language(CUDA)
  # CMake 3.25 does not know nvcc's C++20 switch (nvcc >= 12 has it); tell it, so that targets whose
  # dependencies ask for C++20 compile their CUDA sources as C++20 too.
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  set(CMAKE_CUDA_EXTENSIONS OFF)

  add_library(tachyon_nccl INTERFACE)
  target_include_directories(tachyon_nccl INTERFACE ${NCCL_INCLUDE_DIR})
  target_link_libraries(tachyon_nccl INTERFACE ${NCCL_LIBRARY})
  message(STATUS "Tachyon: CUDA backend ON (arch ${CMAKE_CUDA_ARCHITECTURES}, NCCL ${NCCL_LIBRARY})")
else()
  message(STATUS "Tachyon: CUDA backend OFF (CPU backend only)")
endif()
