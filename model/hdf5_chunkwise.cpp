// h5::read_hyperslab_chunkwise (model/hdf5.h): a slab of a chunked dataset read chunk by chunk, the chunks'
// file reads and copies spread over threads. HDF5 itself is called from the calling thread only (the library
// the distributions ship is not thread-safe); the workers only pread the file's descriptor and copy.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/ranges.h>

#include "model/error.h"
#include "model/hdf5.h"
#include "model/parallel_for.h"

namespace tachyon::h5 {

namespace {

// Worker threads of one call (a node's 8 ranks: 64 readers).
constexpr size_t kChunkwiseThreads = 8;

// One stored chunk that meets the slab: its origin in the dataset and its bytes' place in the file.
struct StoredChunk {
  std::vector<hsize_t> origin;
  haddr_t address = 0;
};

// Copies the part of one chunk (its bytes in `chunk`, dims `cdims`, origin `origin`) that lies inside the slab
// [start, start + count) into the dense slab buffer `dst`. Trailing dims that the part covers whole in both the
// chunk and the slab are one run (an MXFP4 row's 16-byte blocks: 256-byte runs, not 16), and the offsets of the
// next run are stepped, not recomputed.
void copy_chunk_part(const uint8_t* chunk, const std::vector<hsize_t>& cdims, const std::vector<hsize_t>& origin,
                     const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, size_t esize, uint8_t* dst) {
  constexpr size_t kMaxRank = 8;
  const size_t rank = cdims.size();
  hsize_t lo[kMaxRank], ext[kMaxRank];
  size_t cstride[kMaxRank], dstride[kMaxRank];  // bytes between neighbours along each dim
  for (size_t d = rank; d-- > 0;) {
    lo[d] = std::max(origin[d], start[d]);
    const hsize_t hi = std::min(origin[d] + cdims[d], start[d] + count[d]);
    if (lo[d] >= hi) return;
    ext[d] = hi - lo[d];
    cstride[d] = d + 1 < rank ? cstride[d + 1] * cdims[d + 1] : esize;
    dstride[d] = d + 1 < rank ? dstride[d + 1] * count[d + 1] : esize;
  }
  // The run: the last dim, and each dim before it while the dims after it are whole in chunk and slab alike.
  size_t inner = rank - 1;
  while (inner > 0 && ext[inner] == cdims[inner] && ext[inner] == count[inner]) --inner;
  const size_t run = ext[inner] * cstride[inner];
  const uint8_t* src = chunk;
  uint8_t* out = dst;
  for (size_t d = 0; d < rank; ++d) {
    src += (lo[d] - origin[d]) * cstride[d];
    out += (lo[d] - start[d]) * dstride[d];
  }
  hsize_t i[kMaxRank] = {};  // position among the runs, dims [0, inner)
  while (true) {
    std::memcpy(out, src, run);
    size_t d = inner;
    while (d > 0) {
      --d;
      if (++i[d] < ext[d]) {
        src += cstride[d], out += dstride[d];
        break;
      }
      src -= (ext[d] - 1) * cstride[d], out -= (ext[d] - 1) * dstride[d];
      i[d] = 0;
      if (d == 0) return;
    }
    if (inner == 0) return;
  }
}

}  // namespace

bool read_hyperslab_chunkwise(const Dataset& ds, hid_t mem_type, const std::vector<hsize_t>& start,
                              const std::vector<hsize_t>& count, void* dst, const Where& where) {
  silence_errors();
  const size_t rank = start.size(), esize = H5Tget_size(mem_type);
  if (rank < 2 || rank > 8 || count.size() != rank) return false;
  for (hsize_t c : count)
    if (c == 0) return false;
  const std::vector<hsize_t> cdims = dataset_chunk(ds, where), dims = dataset_dims(ds, where);
  if (cdims.size() != rank || dims.size() != rank) return false;  // not chunked, or another rank (H5Dread says so)
  PropList dcpl(H5Dget_create_plist(ds.id()));
  if (!dcpl || H5Pget_nfilters(dcpl.id()) != 0) return false;
  Datatype type(H5Dget_type(ds.id()));
  if (!type || H5Tequal(type.id(), mem_type) <= 0) return false;  // bytes copied as stored: the same type exactly
  for (size_t d = 0; d < rank; ++d)
    if (start[d] + count[d] > dims[d]) return false;  // H5Dread says what is wrong (edge chunks hold padding)
  size_t chunk_bytes = esize;
  for (hsize_t c : cdims) chunk_bytes *= c;

  // The chunks that meet the slab, in the order of their grid coordinates; any not stored as plain bytes
  // (not written, filtered) sends the whole slab to H5Dread.
  std::vector<StoredChunk> chunks;
  std::vector<hsize_t> g0(rank), g1(rank), g(rank);
  for (size_t d = 0; d < rank; ++d) {
    g0[d] = start[d] / cdims[d];
    g1[d] = (start[d] + count[d] - 1) / cdims[d];
  }
  g = g0;
  while (true) {
    StoredChunk c;
    c.origin.resize(rank);
    for (size_t d = 0; d < rank; ++d) c.origin[d] = g[d] * cdims[d];
    unsigned filter_mask = 0;
    hsize_t stored = 0;
    if (H5Dget_chunk_info_by_coord(ds.id(), c.origin.data(), &filter_mask, &c.address, &stored) < 0) {
      take_error_detail();
      return false;
    }
    if (c.address == HADDR_UNDEF || filter_mask != 0 || stored != chunk_bytes) return false;
    chunks.push_back(std::move(c));
    size_t d = rank;
    while (d > 0 && ++g[d - 1] > g1[d - 1]) g[d - 1] = g0[d - 1], --d;
    if (d == 0) break;
  }

  File file(H5Iget_file_id(ds.id()));
  void* handle = nullptr;
  if (!file || H5Fget_vfd_handle(file.id(), H5P_DEFAULT, &handle) < 0 || handle == nullptr) {
    take_error_detail();
    return false;
  }
  const int fd = *static_cast<int*>(handle);  // the default (sec2) driver's handle points at the descriptor
  auto* out = static_cast<uint8_t*>(dst);
  parallel_for(
      chunks.size(), 1,
      [&](size_t begin, size_t end) {
        std::unique_ptr<uint8_t[]> buf(new uint8_t[chunk_bytes]);  // filled by pread: no zeroing
        for (size_t k = begin; k < end; ++k) {
          for (size_t done = 0; done < chunk_bytes;) {
            const ssize_t n = ::pread(fd, buf.get() + done, chunk_bytes - done, static_cast<off_t>(chunks[k].address + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0)
              throw Error(fmt::format("{}: cannot read the chunk at {} ({} of {} bytes read: {})", where.str(),
                                      fmt::join(chunks[k].origin, ","), done, chunk_bytes,
                                      n < 0 ? std::strerror(errno) : "end of file"));
            done += static_cast<size_t>(n);
          }
          copy_chunk_part(buf.get(), cdims, chunks[k].origin, start, count, esize, out);
        }
      },
      kChunkwiseThreads);
  return true;
}

}  // namespace tachyon::h5
