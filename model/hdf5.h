// Thin RAII layer over the HDF5 1.10 C API, for the checkpoint reader and writer (model/checkpoint.cpp).
//
// Handles are move-only owners of an hid_t that close it on destruction and never throw. The helpers
// turn every HDF5 failure into a tachyon::Error whose message names the file and the object, followed
// by the innermost message of HDF5's error stack (which says *why*, e.g. "truncated file: eof = ...").
// HDF5's own printing of its error stack to stderr is switched off (silence_errors), because our
// messages already carry what it would have printed, once, and in one line.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tachyon::h5 {

// An owned HDF5 identifier, closed with `Close` (H5Fclose, H5Gclose, ...).
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  explicit operator bool() const { return valid(); }
  // Closes now. A failure to close is ignored here (destructors must not throw); code that needs to
  // know, such as the writer's final close, calls the HDF5 close function itself through release().
  void reset() noexcept {
    if (id_ >= 0) Close(id_);
    id_ = H5I_INVALID_HID;
  }
  hid_t release() noexcept { return std::exchange(id_, H5I_INVALID_HID); }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using File = Handle<H5Fclose>;
using Group = Handle<H5Gclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using Datatype = Handle<H5Tclose>;
using PropList = Handle<H5Pclose>;
using Attribute = Handle<H5Aclose>;

// Names an object in messages: "model.h5: /tensors/embed/data".
struct Where {
  std::string file;
  std::string object;  // an HDF5 path inside the file; "/" for the file itself
  Where child(std::string_view name) const;
  std::string str() const;
};

// Switches off HDF5's automatic error printing for the calling thread. Called by every entry point
// below that may fail, so callers never need to remember it.
void silence_errors();

// The innermost message on HDF5's error stack for this thread ("" if none), then clears the stack.
std::string take_error_detail();

// Throws tachyon::Error "<where>: <what>" plus the HDF5 detail, if any.
[[noreturn]] void fail(const Where& where, std::string_view what);

// ---- files, groups, datasets ----------------------------------------------------------------------
File open_file_readonly(const std::string& path);  // throws naming the file, with HDF5's reason
File create_file(const std::string& path);         // truncates an existing file
void close_file(File& file, const std::string& path);  // closes and reports a failure (flush errors)
// Size in bytes of the file behind `file` as the operating system sees it now (fstat of its descriptor).
uint64_t current_file_size(const File& file, const std::string& path);

// Whether `name` (a single link name, or a path whose every component is checked) exists under `loc`.
bool exists(hid_t loc, const std::string& name);
// Names of the links directly under `loc`.
std::vector<std::string> list_links(hid_t loc, const Where& where);
Group open_group(hid_t loc, const std::string& name, const Where& where);
Group create_group(hid_t loc, const std::string& name, const Where& where);
Dataset open_dataset(hid_t loc, const std::string& name, const Where& where);
// Creates a dataset of `file_type`; `chunk` empty means contiguous layout, else one entry per dim.
Dataset create_dataset(hid_t loc, const std::string& name, hid_t file_type, const std::vector<hsize_t>& dims,
                       const std::vector<hsize_t>& chunk, const Where& where);
std::vector<hsize_t> dataset_dims(const Dataset& ds, const Where& where);
std::vector<hsize_t> dataset_chunk(const Dataset& ds, const Where& where);  // empty when not chunked
// Whether the stored element type converts to `mem_type` without changing its meaning: same class
// (integer/float), same size, same signedness.
bool same_type(const Dataset& ds, hid_t mem_type);
// Describes the stored element type for messages ("float32", "uint8", "int16", ...).
std::string describe_type(const Dataset& ds);

// Reads/writes the block [start, start+count) of a dataset from/into a dense buffer of `count` elements
// of `mem_type`. The destination is filled directly; nothing else of the dataset is read.
void read_hyperslab(const Dataset& ds, hid_t mem_type, const std::vector<hsize_t>& start,
                    const std::vector<hsize_t>& count, void* dst, const Where& where);
// The same for a chunked dataset without filters whose stored type is mem_type, chunk by chunk: each chunk that
// meets the block is read from its place in the file (pread) and its part copied into dst, the chunks spread over
// threads (HDF5 itself is called from this thread only). Through H5Dread one thread gathers every chunk's rows,
// which held a rank's load from the page cache to ~1.8 GB/s (docs/benchmarks.md, session 24). Returns false,
// having read nothing, where this does not apply (contiguous or filtered data, another stored type, a chunk not
// written); read_hyperslab takes this way for blocks of 4 MB or more on machines of 4 cores or more.
bool read_hyperslab_chunkwise(const Dataset& ds, hid_t mem_type, const std::vector<hsize_t>& start,
                              const std::vector<hsize_t>& count, void* dst, const Where& where);
void write_hyperslab(const Dataset& ds, hid_t mem_type, const std::vector<hsize_t>& start,
                     const std::vector<hsize_t>& count, const void* src, const Where& where);

// A uint8[n] dataset holding raw bytes (JSON documents): written contiguous, read whole.
void write_bytes(hid_t loc, const std::string& name, std::string_view bytes, const Where& where);
std::string read_bytes(hid_t loc, const std::string& name, const Where& where);

// ---- attributes -----------------------------------------------------------------------------------
bool has_attribute(hid_t obj, const std::string& name);
// Fixed-length UTF-8 string on write; fixed or variable length (as h5py writes) on read.
void write_string_attribute(hid_t obj, const std::string& name, std::string_view value, const Where& where);
std::string read_string_attribute(hid_t obj, const std::string& name, const Where& where);
// A scalar int32 on write; any scalar (or one-element) integer on read.
void write_int_attribute(hid_t obj, const std::string& name, int32_t value, const Where& where);
int64_t read_int_attribute(hid_t obj, const std::string& name, const Where& where);
// A 1-D int64 array.
void write_int_array_attribute(hid_t obj, const std::string& name, const std::vector<int64_t>& values,
                               const Where& where);
std::vector<int64_t> read_int_array_attribute(hid_t obj, const std::string& name, const Where& where);

}  // namespace tachyon::h5
