// The HDF5 checkpoint (model/checkpoint.h, docs/checkpoint-format.md): round trips of every format,
// partial reads against full reads, the on-disk layout, I/O proportional to the slice, and every error
// naming the file and the tensor.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/error.h"
#include "model/fp8.h"
#include "model/hdf5.h"
#include "model/mxfp4.h"
#include "model/weight.h"

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

// A unique path under the temp directory, removed (with the writer's ".partial" twin) at scope exit.
class TempPath {
 public:
  explicit TempPath(const std::string& stem) {
    static int counter = 0;
    path_ = (fs::temp_directory_path() / fmt::format("tachyon-ckpt-{}-{}-{}", getpid(), counter++, stem)).string();
  }
  ~TempPath() {
    std::error_code ec;
    fs::remove(path_, ec);
    fs::remove(path_ + ".partial", ec);
  }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

const WeightFormat kAllFormats[] = {WeightFormat::F32, WeightFormat::BF16, WeightFormat::FP8, WeightFormat::MXFP4};
const std::string kConfig = R"({"model_type": "test", "hidden_size": 64, "num_hidden_layers": 2})";
// Verbatim bytes: non-ASCII UTF-8 and an embedded NUL must survive.
const std::string kTokenizer = std::string("{\"added_tokens\": [\"h\xC3\xA9llo\"]}") + std::string(1, '\0') + "tail";

size_t numel(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

// Values whose magnitude changes from one 128-block to the next, so that a slice paired with the
// wrong fp8 scale (or mxfp4 scale) decodes visibly wrong.
std::vector<float> test_values(const std::vector<int64_t>& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const size_t cols = static_cast<size_t>(shape.back());
  const size_t rows = shape.size() >= 2 ? static_cast<size_t>(shape[shape.size() - 2]) : 1;
  std::vector<float> v(numel(shape));
  for (size_t i = 0; i < v.size(); ++i) {
    const size_t c = i % cols, r = (i / cols) % rows, e = i / (cols * rows);
    v[i] = normal(rng) * std::ldexp(1.0f, static_cast<int>((r / 128 + 3 * (c / 128) + e) % 7) - 3);
  }
  return v;
}

HostWeight test_weight(WeightFormat f, const std::vector<int64_t>& shape, uint32_t seed = 1) {
  const std::vector<float> v = test_values(shape, seed);
  return make_host_weight(v.data(), shape, f);
}

// ---- the reference slice, computed from the layouts of model/weight.h -------------------------------

struct Box {
  int64_t e0, e1, r0, r1, c0, c1;
};

Box resolve(const std::vector<int64_t>& shape, const TensorSlice& s) {
  const size_t n = shape.size();
  const int64_t E = n == 3 ? shape[0] : 1, R = n >= 2 ? shape[n - 2] : 1, C = shape.back();
  auto end = [](int64_t e, int64_t full) { return e == -1 ? full : e; };
  return {s.expert_begin, end(s.expert_end, E), s.row_begin, end(s.row_end, R), s.col_begin, end(s.col_end, C)};
}

// The bytes of `box` cut out of a full tensor: what a partial read must return.
HostWeight reference_slice(const HostWeight& full, const TensorSlice& slice) {
  const Box b = resolve(full.shape, slice);
  const size_t R = full.rows(), C = full.cols();
  HostWeight out;
  out.format = full.format;
  if (full.shape.size() == 3) out.shape.push_back(b.e1 - b.e0);
  if (full.shape.size() >= 2) out.shape.push_back(b.r1 - b.r0);
  out.shape.push_back(b.c1 - b.c0);
  const size_t row_bytes = weight_data_bytes(full.format, 1, C);
  const size_t seg_begin = weight_data_bytes(full.format, 1, static_cast<size_t>(b.c0));
  const size_t seg_len = weight_data_bytes(full.format, 1, static_cast<size_t>(b.c1 - b.c0));
  for (int64_t e = b.e0; e < b.e1; ++e)
    for (int64_t r = b.r0; r < b.r1; ++r) {
      const uint8_t* row = full.data.data() + (static_cast<size_t>(e) * R + static_cast<size_t>(r)) * row_bytes;
      out.data.insert(out.data.end(), row + seg_begin, row + seg_begin + seg_len);
    }
  if (full.format == WeightFormat::MXFP4) {
    const size_t per_row = C / kMxfp4BlockSize;
    for (int64_t e = b.e0; e < b.e1; ++e)
      for (int64_t r = b.r0; r < b.r1; ++r) {
        const uint8_t* row = full.scales.data() + (static_cast<size_t>(e) * R + static_cast<size_t>(r)) * per_row;
        out.scales.insert(out.scales.end(), row + b.c0 / kMxfp4BlockSize, row + b.c1 / kMxfp4BlockSize);
      }
  }
  if (full.format == WeightFormat::FP8) {
    const int64_t bs = kFp8BlockSize;
    const size_t GR = fp8_scale_rows(R), GC = fp8_scale_cols(C);
    for (int64_t e = b.e0; e < b.e1; ++e)
      for (int64_t gr = b.r0 / bs; gr < (b.r1 + bs - 1) / bs; ++gr) {
        const uint8_t* grid_row = full.scales.data() + ((static_cast<size_t>(e) * GR + static_cast<size_t>(gr)) * GC) * 4;
        out.scales.insert(out.scales.end(), grid_row + (b.c0 / bs) * 4, grid_row + ((b.c1 + bs - 1) / bs) * 4);
      }
    out.scale_row0 = full.shape.size() >= 2 ? static_cast<size_t>(b.r0 % bs) : 0;
    out.scale_col0 = static_cast<size_t>(b.c0 % bs);
  }
  return out;
}

std::string describe(const TensorSlice& s) {
  return fmt::format("experts [{}, {}) rows [{}, {}) cols [{}, {})", s.expert_begin, s.expert_end, s.row_begin, s.row_end,
                     s.col_begin, s.col_end);
}

// Checks a partial read against the full tensor: same bytes as the reference cut, same scale offsets,
// and (decoding through HostWeight::matrix) the same values as the corresponding part of the full tensor.
// Every field of a read against what it should hold.
void check_same_fields(const HostWeight& got, const HostWeight& want) {
  CHECK(got.format == want.format);
  CHECK(got.shape == want.shape);
  CHECK(got.data == want.data);
  CHECK(got.scales == want.scales);
  CHECK(got.scale_row0 == want.scale_row0);
  CHECK(got.scale_col0 == want.scale_col0);
}

void check_slice(const CheckpointReader& reader, const std::string& name, const HostWeight& full, const TensorSlice& slice) {
  CAPTURE(name);
  const std::string where = describe(slice);
  CAPTURE(where);
  const uint64_t before = reader.bytes_read();
  const HostWeight part = reader.read(name, slice);
  check_same_fields(part, reference_slice(full, slice));
  // bytes_read grows by exactly what the slice holds.
  CHECK(reader.bytes_read() - before == part.data.size() + part.scales.size());

  const Box b = resolve(full.shape, slice);
  const std::vector<float> all = full.to_float();
  const std::vector<float> got = part.to_float();
  const size_t R = full.rows(), C = full.cols();
  const size_t nr = static_cast<size_t>(b.r1 - b.r0), nc = static_cast<size_t>(b.c1 - b.c0);
  REQUIRE(got.size() == static_cast<size_t>(b.e1 - b.e0) * nr * nc);
  size_t mismatches = 0;
  for (int64_t e = b.e0; e < b.e1; ++e)
    for (int64_t r = b.r0; r < b.r1; ++r)
      for (int64_t c = b.c0; c < b.c1; ++c) {
        const float want = all[(static_cast<size_t>(e) * R + static_cast<size_t>(r)) * C + static_cast<size_t>(c)];
        const float have = got[(static_cast<size_t>(e - b.e0) * nr + static_cast<size_t>(r - b.r0)) * nc + static_cast<size_t>(c - b.c0)];
        if (std::memcmp(&want, &have, sizeof want) != 0) ++mismatches;
      }
  CHECK(mismatches == 0);
}

void check_same(const HostWeight& a, const HostWeight& b) {
  CHECK(a.format == b.format);
  CHECK(a.shape == b.shape);
  CHECK(a.data == b.data);
  CHECK(a.scales == b.scales);
  CHECK(a.scale_row0 == 0);
  CHECK(a.scale_col0 == 0);
}

// The message of the tachyon::Error that `f` throws.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("expected a tachyon::Error");
  return {};
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

// Edits a written checkpoint with raw HDF5, to make the damaged files the reader must refuse.
template <class F>
void edit_file(const std::string& path, F&& f) {
  h5::silence_errors();
  h5::File file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  REQUIRE(file.valid());
  f(file.id(), h5::Where{path, "/"});
  REQUIRE(H5Fclose(file.release()) >= 0);
}

void write_small_checkpoint(const std::string& path) {
  CheckpointWriter w(path, "target", kConfig, kTokenizer);
  w.write("embed", test_weight(WeightFormat::BF16, {64, 32}));
  w.write("final_norm", test_weight(WeightFormat::F32, {32}));
  w.write("layers.0.attn.q", test_weight(WeightFormat::FP8, {160, 32}));
  w.write("layers.0.moe.down", test_weight(WeightFormat::MXFP4, {4, 32, 64}));
  w.write("layers.0.moe.gate_up", test_weight(WeightFormat::F32, {4, 8, 64}));
  w.close();
}

uint64_t process_rchar() {
  std::ifstream io("/proc/self/io");
  std::string key;
  uint64_t value = 0;
  while (io >> key >> value)
    if (key == "rchar:") return value;
  return 0;
}

}  // namespace

// ---- round trips ------------------------------------------------------------------------------------

TEST_CASE("checkpoint: every format round-trips as vector, matrix and expert tensor") {
  TempPath path("roundtrip.h5");
  struct Entry {
    std::string name;
    HostWeight w;
  };
  std::vector<Entry> entries;
  for (WeightFormat f : kAllFormats) {
    const std::string fn(format_name(f));
    const int64_t vec = f == WeightFormat::MXFP4 ? 320 : 300;
    entries.push_back({"vec." + fn, test_weight(f, {vec}, 1)});
    entries.push_back({"mat." + fn, test_weight(f, {200, f == WeightFormat::MXFP4 ? 160 : 130}, 2)});
    // Rows and columns beyond one 512-chunk, so that edge chunks are exercised.
    entries.push_back({"experts." + fn, test_weight(f, {3, 530, 544}, 3)});
  }
  {
    CheckpointWriter w(path.str(), "drafter", kConfig, kTokenizer);
    for (const Entry& e : entries) w.write(e.name, e.w);
    w.close();
    w.close();  // idempotent
  }
  CheckpointReader r(path.str());
  CHECK(r.path() == path.str());
  CHECK(r.kind() == "drafter");
  CHECK(r.config_json() == kConfig);
  REQUIRE(r.tokenizer_json().has_value());
  CHECK(*r.tokenizer_json() == kTokenizer);

  const std::vector<TensorInfo> infos = r.tensors();
  REQUIRE(infos.size() == entries.size());
  for (size_t i = 1; i < infos.size(); ++i) CHECK(infos[i - 1].name < infos[i].name);
  for (const Entry& e : entries) {
    CAPTURE(e.name);
    CHECK(r.has(e.name));
    const TensorInfo info = r.info(e.name);
    CHECK(info.name == e.name);
    CHECK(info.format == e.w.format);
    CHECK(info.shape == e.w.shape);
    check_same(r.read(e.name), e.w);
  }
  CHECK_FALSE(r.has("nope"));

  // A reader moves.
  CheckpointReader moved = std::move(r);
  check_same(moved.read("vec.f32"), entries[0].w);
}

TEST_CASE("checkpoint: no tokenizer, no tensors") {
  TempPath path("empty.h5");
  {
    CheckpointWriter w(path.str(), "target", "{}", std::nullopt);
    w.close();
  }
  CheckpointReader r(path.str());
  CHECK(r.kind() == "target");
  CHECK(r.config_json() == "{}");
  CHECK_FALSE(r.tokenizer_json().has_value());
  CHECK(r.tensors().empty());
}

TEST_CASE("checkpoint: create + write_expert fills an expert tensor one expert at a time") {
  for (WeightFormat f : kAllFormats) {
    CAPTURE(format_name(f));
    TempPath path("experts.h5");
    const std::vector<int64_t> shape{4, 150, 192};
    const std::vector<float> values = test_values(shape, 7);
    const HostWeight whole = make_host_weight(values.data(), shape, f);
    {
      CheckpointWriter w(path.str(), "target", kConfig, std::nullopt);
      w.create("layers.0.moe.gate_up", f, shape);
      w.write("final_norm", test_weight(WeightFormat::F32, {16}));  // other writes may interleave
      const size_t per_expert = static_cast<size_t>(shape[1] * shape[2]);
      for (int64_t e = shape[0] - 1; e >= 0; --e) {  // any order
        // Experts 0 and 2 as [rows, cols], 1 and 3 as [1, rows, cols].
        std::vector<int64_t> s = e % 2 ? std::vector<int64_t>{1, shape[1], shape[2]} : std::vector<int64_t>{shape[1], shape[2]};
        w.write_expert("layers.0.moe.gate_up", e, make_host_weight(values.data() + e * per_expert, s, f));
      }
      w.close();
    }
    CheckpointReader r(path.str());
    // Per-expert quantization gives the same bytes as quantizing the whole tensor.
    check_same(r.read("layers.0.moe.gate_up"), whole);
    CHECK(r.info("layers.0.moe.gate_up").shape == shape);
  }
}

// ---- partial reads ------------------------------------------------------------------------------------

TEST_CASE("checkpoint: a partial read returns the same bytes as that part of a full read (every format)") {
  TempPath path("slices.h5");
  const std::vector<int64_t> expert_shape{3, 600, 640};  // crosses 128-blocks and 512-chunks both ways
  const std::vector<int64_t> matrix_shape{300, 256};
  const std::vector<int64_t> vector_shape{640};
  {
    CheckpointWriter w(path.str(), "target", kConfig, std::nullopt);
    for (WeightFormat f : kAllFormats) {
      const std::string fn(format_name(f));
      w.write("experts." + fn, test_weight(f, expert_shape, 11));
      w.write("matrix." + fn, test_weight(f, matrix_shape, 12));
      w.write("vector." + fn, test_weight(f, vector_shape, 13));
    }
    w.close();
  }
  CheckpointReader r(path.str());

  // Slices valid for every format (column bounds multiples of 32, as mxfp4 needs) ...
  const std::vector<TensorSlice> expert_slices = {
      {},
      {.expert_begin = 1, .expert_end = 2},
      {.expert_begin = 1},
      {.row_begin = 100, .row_end = 250},
      {.row_begin = 500},
      {.col_begin = 64, .col_end = 320},
      {.col_begin = 480, .col_end = 640},
      {.expert_begin = 2, .expert_end = 3, .row_begin = 130, .row_end = 131, .col_begin = 32, .col_end = 64},
      {.expert_begin = 0, .expert_end = 2, .row_begin = 127, .row_end = 513, .col_begin = 96, .col_end = 608},
      {.expert_begin = 1, .row_begin = 256, .row_end = 384, .col_begin = 128},
  };
  // ... and ones that start and end inside blocks (f32, bf16, fp8: any column).
  const std::vector<TensorSlice> unaligned_expert_slices = {
      {.row_begin = 1, .row_end = 599, .col_begin = 5, .col_end = 133},
      {.col_begin = 127, .col_end = 129},
      {.expert_begin = 1, .expert_end = 3, .row_begin = 129, .row_end = 300, .col_begin = 200, .col_end = 513},
  };
  const std::vector<TensorSlice> matrix_slices = {
      {},
      {.row_begin = 10, .row_end = 20},
      {.col_begin = 128, .col_end = 256},
      {.row_begin = 129, .col_begin = 32, .col_end = 96},
      {.expert_begin = 0, .expert_end = 1, .row_begin = 299},  // a matrix is one expert
  };
  const std::vector<TensorSlice> unaligned_matrix_slices = {{.row_begin = 5, .row_end = 140, .col_begin = 3, .col_end = 250}};
  const std::vector<TensorSlice> vector_slices = {
      {}, {.col_begin = 128, .col_end = 384}, {.col_begin = 608}, {.expert_end = 1, .row_end = 1, .col_end = 32}};
  const std::vector<TensorSlice> unaligned_vector_slices = {{.col_begin = 130, .col_end = 131}, {.col_begin = 1, .col_end = 639}};

  for (WeightFormat f : kAllFormats) {
    const std::string fn(format_name(f));
    const bool any_column = f != WeightFormat::MXFP4;
    const HostWeight experts = r.read("experts." + fn);
    const HostWeight matrix = r.read("matrix." + fn);
    const HostWeight vector = r.read("vector." + fn);
    for (const TensorSlice& s : expert_slices) check_slice(r, "experts." + fn, experts, s);
    for (const TensorSlice& s : matrix_slices) check_slice(r, "matrix." + fn, matrix, s);
    for (const TensorSlice& s : vector_slices) check_slice(r, "vector." + fn, vector, s);
    if (any_column) {
      for (const TensorSlice& s : unaligned_expert_slices) check_slice(r, "experts." + fn, experts, s);
      for (const TensorSlice& s : unaligned_matrix_slices) check_slice(r, "matrix." + fn, matrix, s);
      for (const TensorSlice& s : unaligned_vector_slices) check_slice(r, "vector." + fn, vector, s);
    }
  }
}

TEST_CASE("checkpoint: read_into one HostWeight, tensor after tensor, gives each tensor's read and reuses the memory") {
  TempPath path("read_into.h5");
  {
    CheckpointWriter w(path.str(), "target", kConfig, std::nullopt);
    for (WeightFormat f : kAllFormats) {
      const std::string fn(format_name(f));
      w.write("big." + fn, test_weight(f, {2, 300, 640}, 21));
      w.write("small." + fn, test_weight(f, {40, 128}, 22));
    }
    w.close();
  }
  CheckpointReader r(path.str());
  // Every format after every other (scales appear, change size and disappear), large then small, and slices
  // whose fp8 scale offsets are not zero: each result must equal a fresh read's, whatever the buffer held.
  const std::vector<std::pair<std::string, TensorSlice>> reads = [] {
    std::vector<std::pair<std::string, TensorSlice>> v;
    for (WeightFormat f : kAllFormats)
      for (WeightFormat g : kAllFormats) {
        v.push_back({"big." + std::string(format_name(f)), {}});
        v.push_back({"small." + std::string(format_name(g)), {.row_begin = 3, .row_end = 37, .col_begin = 32, .col_end = 96}});
        v.push_back({"big." + std::string(format_name(g)), {.expert_begin = 1, .row_begin = 130, .col_begin = 160}});
      }
    return v;
  }();
  HostWeight staging;
  for (const auto& [name, slice] : reads) {
    CAPTURE(name);
    r.read_into(name, slice, staging);
    check_same_fields(staging, r.read(name, slice));
  }
  // A smaller tensor read into the buffers of a larger one takes no new memory.
  r.read_into("big.bf16", {}, staging);
  const uint8_t* data = staging.data.data();
  r.read_into("small.bf16", {}, staging);
  CHECK(staging.data.data() == data);
  CHECK(staging.data.size() == 40u * 128u * 2u);
}

TEST_CASE("hdf5: chunk-wise reads give H5Dread's bytes for blocks across chunk edges, and decline what they cannot read") {
  TempPath path("chunkwise.h5");
  const std::vector<int64_t> shape{3, 1100, 1088};  // 512-row and 512-column chunks with partial edge chunks
  {
    CheckpointWriter w(path.str(), "target", kConfig, std::nullopt);
    for (WeightFormat f : kAllFormats) w.write(std::string("t.") + std::string(format_name(f)), test_weight(f, shape, 31));
    w.write("vector.f32", test_weight(WeightFormat::F32, {640}, 32));
    w.close();
  }
  h5::File file = h5::open_file_readonly(path.str());
  const h5::Where where{path.str(), "/"};
  // (stored type, element bytes) of each data and scale dataset, as the writer stores them.
  struct Set {
    std::string name;
    hid_t mem_type;
    size_t esize;
  };
  const std::vector<Set> sets = {{"t.f32/data", H5T_NATIVE_FLOAT, 4},  {"t.bf16/data", H5T_NATIVE_UINT16, 2},
                                 {"t.fp8/data", H5T_NATIVE_UINT8, 1},  {"t.fp8/scales", H5T_NATIVE_FLOAT, 4},
                                 {"t.mxfp4/data", H5T_NATIVE_UINT8, 1}, {"t.mxfp4/scales", H5T_NATIVE_UINT8, 1}};
  for (const Set& set : sets) {
    CAPTURE(set.name);
    h5::Dataset ds = h5::open_dataset(file.id(), "/tensors/" + set.name, where);
    const std::vector<hsize_t> dims = h5::dataset_dims(ds, where);
    REQUIRE(!h5::dataset_chunk(ds, where).empty());
    // Whole, a band of rows over chunk edges, a box inside one chunk, one element, the last (padded) edge chunk.
    std::vector<std::pair<std::vector<hsize_t>, std::vector<hsize_t>>> blocks;
    const auto box = [&](std::vector<hsize_t> lo, std::vector<hsize_t> hi) {
      std::vector<hsize_t> count(dims.size());
      for (size_t d = 0; d < dims.size(); ++d) count[d] = std::min(hi[d], dims[d]) - lo[d];
      blocks.push_back({lo, count});
    };
    const size_t r = dims.size();
    std::vector<hsize_t> zero(r, 0), one(r, 1);
    box(zero, dims);
    std::vector<hsize_t> lo = zero, hi = dims;  // experts 1.., rows and columns cut inside chunks
    lo[0] = 1, lo[1] = dims[1] / 11, hi[1] = dims[1] - dims[1] / 23, lo[r - 1] = dims[r - 1] / 7;
    box(lo, hi);
    lo = zero, hi = dims;  // a few rows of the last expert
    lo[0] = dims[0] - 1, lo[1] = dims[1] / 3, hi[1] = std::min<hsize_t>(lo[1] + 5, dims[1]);
    box(lo, hi);
    box(zero, one);
    for (size_t d = 0; d < r; ++d) lo[d] = dims[d] - std::min<hsize_t>(2, dims[d]);  // the far corner
    box(lo, dims);
    for (const auto& [start, count] : blocks) {
      size_t n = set.esize;
      for (hsize_t c : count) n *= c;
      std::vector<uint8_t> chunkwise(n, 0xEE), plain(n, 0x11);
      CHECK(h5::read_hyperslab_chunkwise(ds, set.mem_type, start, count, chunkwise.data(), where));
      // H5Dread itself: read_hyperslab takes the chunk-wise way for large blocks on machines of several cores.
      h5::Dataspace file_space(H5Dget_space(ds.id()));
      REQUIRE(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr) >= 0);
      h5::Dataspace mem_space(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr));
      REQUIRE(H5Dread(ds.id(), set.mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, plain.data()) >= 0);
      CHECK(chunkwise == plain);
    }
    // A block past the end is left to H5Dread, which names the problem (nothing is written to dst).
    std::vector<hsize_t> past = dims;
    past[0] += 1;
    std::vector<uint8_t> sink(16);
    CHECK_FALSE(h5::read_hyperslab_chunkwise(ds, set.mem_type, zero, past, sink.data(), where));
  }
  // Not chunked (a 1-D tensor), or another memory type: declined.
  h5::Dataset vec = h5::open_dataset(file.id(), "/tensors/vector.f32/data", where);
  std::vector<float> v(640);
  CHECK_FALSE(h5::read_hyperslab_chunkwise(vec, H5T_NATIVE_FLOAT, {0}, {640}, v.data(), where));
  h5::Dataset f32 = h5::open_dataset(file.id(), "/tensors/t.f32/data", where);
  std::vector<double> d(4);
  CHECK_FALSE(h5::read_hyperslab_chunkwise(f32, H5T_NATIVE_DOUBLE, {0, 0, 0}, {1, 1, 4}, d.data(), where));
}

TEST_CASE("checkpoint: fp8 slices carry the covering scale blocks and their offsets") {
  TempPath path("fp8.h5");
  const HostWeight full = test_weight(WeightFormat::FP8, {2, 300, 400}, 5);
  {
    CheckpointWriter w(path.str(), "target", kConfig, std::nullopt);
    w.write("w", full);
    w.close();
  }
  CheckpointReader r(path.str());
  // Rows [130, 260) touch scale rows 1..2, columns [120, 260) touch scale cols 0..2.
  const HostWeight part = r.read("w", {.expert_begin = 1, .row_begin = 130, .row_end = 260, .col_begin = 120, .col_end = 260});
  CHECK(part.shape == std::vector<int64_t>{1, 130, 140});
  CHECK(part.scale_row0 == 2);
  CHECK(part.scale_col0 == 120);
  CHECK(part.scales.size() == 2 * 3 * sizeof(float));
  const float* grid = reinterpret_cast<const float*>(full.scales.data()) + 1 * 3 * 4;  // expert 1: grid [3, 4]
  const float* got = reinterpret_cast<const float*>(part.scales.data());
  for (int gr = 0; gr < 2; ++gr)
    for (int gc = 0; gc < 3; ++gc) CHECK(got[gr * 3 + gc] == grid[(1 + gr) * 4 + gc]);
  // Element (0, 0) of the slice decodes like element (1, 130, 120) of the full tensor.
  std::vector<float> row(140), full_row(400);
  part.matrix(0).dequantize_row(0, row.data());
  full.matrix(1).dequantize_row(130, full_row.data());
  for (size_t c = 0; c < 140; ++c) CHECK(row[c] == full_row[120 + c]);
}

TEST_CASE("checkpoint: bytes read and file I/O are proportional to the slice") {
  TempPath path("io.h5");
  const std::vector<int64_t> shape{8, 1024, 1024};  // f32: 4 MiB per expert, chunks of 1 MiB
  {
    CheckpointWriter w(path.str(), "target", kConfig, std::nullopt);
    w.write("w", test_weight(WeightFormat::F32, shape));
    w.close();
  }
  CheckpointReader r(path.str());
  const uint64_t expert_bytes = 1024 * 1024 * 4;
  // Reads through HDF5's file driver show up in this process's rchar (Linux); the bound allows for
  // metadata, not for a second expert.
  const bool have_rchar = process_rchar() > 0;
  auto measure = [&](const TensorSlice& s, uint64_t expect) {
    const uint64_t counted0 = r.bytes_read(), rchar0 = process_rchar();
    const HostWeight w = r.read("w", s);
    CHECK(w.data.size() == expect);
    CHECK(r.bytes_read() - counted0 == expect);
    if (have_rchar) {
      const uint64_t io = process_rchar() - rchar0;
      CHECK(io >= expect);
      CHECK(io < expect + expect / 4 + 64 * 1024);
    }
  };
  measure({.expert_begin = 3, .expert_end = 4}, expert_bytes);                                    // one expert
  measure({.expert_begin = 2, .expert_end = 5}, 3 * expert_bytes);                                // an expert range
  measure({.expert_begin = 6, .expert_end = 7, .row_begin = 512}, expert_bytes / 2);              // half the rows
  measure({.expert_begin = 0, .expert_end = 1, .col_begin = 0, .col_end = 512}, expert_bytes / 2);  // half the cols
  measure({.expert_begin = 5, .expert_end = 6, .row_begin = 0, .row_end = 512, .col_begin = 512}, expert_bytes / 4);
  CHECK(r.bytes_read() == (1 + 3 + 0.5 + 0.5 + 0.25) * expert_bytes);
}

// ---- layout on disk ---------------------------------------------------------------------------------

TEST_CASE("checkpoint: the file follows docs/checkpoint-format.md") {
  TempPath path("layout.h5");
  {
    CheckpointWriter w(path.str(), "target", kConfig, kTokenizer);
    w.write("f32", test_weight(WeightFormat::F32, {3, 600, 640}));
    w.write("fp8", test_weight(WeightFormat::FP8, {3, 600, 640}));
    w.write("mxfp4", test_weight(WeightFormat::MXFP4, {3, 600, 640}));
    w.write("small", test_weight(WeightFormat::BF16, {300, 200}));
    w.write("vec", test_weight(WeightFormat::FP8, {1000}));
    w.close();
  }
  h5::silence_errors();
  h5::File file = h5::open_file_readonly(path.str());
  const hid_t root = file.id();
  const h5::Where where{path.str(), "/"};
  CHECK(h5::read_string_attribute(root, "tachyon_format", where) == "tachyon-checkpoint");
  CHECK(h5::read_int_attribute(root, "tachyon_format_version", where) == 1);
  CHECK(h5::read_string_attribute(root, "kind", where) == "target");
  CHECK(h5::read_string_attribute(root, "created_by", where).rfind("tachyon convert ", 0) == 0);
  CHECK(h5::read_bytes(root, "metadata/config.json", where) == kConfig);
  CHECK(h5::read_bytes(root, "metadata/tokenizer.json", where) == kTokenizer);

  struct Expect {
    std::string dataset;
    std::vector<hsize_t> dims, chunk;
    hid_t type;
  };
  const std::vector<Expect> expects = {
      {"f32/data", {3, 600, 640}, {1, 512, 512}, H5T_NATIVE_FLOAT},
      {"fp8/data", {3, 600, 640}, {1, 512, 512}, H5T_NATIVE_UINT8},
      {"fp8/scales", {3, 5, 5}, {1, 5, 5}, H5T_NATIVE_FLOAT},
      {"mxfp4/data", {3, 600, 20, 16}, {1, 512, 16, 16}, H5T_NATIVE_UINT8},
      {"mxfp4/scales", {3, 600, 20}, {1, 512, 20}, H5T_NATIVE_UINT8},
      {"small/data", {300, 200}, {300, 200}, H5T_NATIVE_UINT16},
      {"vec/data", {1000}, {}, H5T_NATIVE_UINT8},  // 1-D: contiguous
      {"vec/scales", {8}, {}, H5T_NATIVE_FLOAT},
  };
  for (const Expect& e : expects) {
    CAPTURE(e.dataset);
    h5::Dataset ds = h5::open_dataset(root, "tensors/" + e.dataset, where);
    CHECK(h5::dataset_dims(ds, where) == e.dims);
    CHECK(h5::dataset_chunk(ds, where) == e.chunk);
    CHECK(h5::same_type(ds, e.type));
  }
  h5::Group g = h5::open_group(root, "tensors/mxfp4", where);
  CHECK(h5::read_string_attribute(g.id(), "format", where) == "mxfp4");
  CHECK(h5::read_int_array_attribute(g.id(), "shape", where) == std::vector<int64_t>{3, 600, 640});
}

TEST_CASE("checkpoint: variable-length string attributes (as h5py writes them) are read") {
  TempPath path("vlen.h5");
  write_small_checkpoint(path.str());
  edit_file(path.str(), [](hid_t root, const h5::Where&) {
    REQUIRE(H5Adelete(root, "kind") >= 0);
    h5::Datatype type(H5Tcopy(H5T_C_S1));
    REQUIRE(H5Tset_size(type.id(), H5T_VARIABLE) >= 0);
    h5::Dataspace space(H5Screate(H5S_SCALAR));
    h5::Attribute attr(H5Acreate2(root, "kind", type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT));
    const char* value = "drafter";
    REQUIRE(H5Awrite(attr.id(), type.id(), &value) >= 0);
  });
  CHECK(CheckpointReader(path.str()).kind() == "drafter");
}

// ---- errors -----------------------------------------------------------------------------------------

TEST_CASE("checkpoint errors: not a checkpoint") {
  TempPath path("bad.h5");
  SUBCASE("missing file") { CHECK(contains(error_of([&] { CheckpointReader r(path.str()); }), path.str())); }
  SUBCASE("not HDF5") {
    std::ofstream(path.str()) << "{\"this is\": \"json\"}\n";
    const std::string msg = error_of([&] { CheckpointReader r(path.str()); });
    CHECK(contains(msg, path.str()));
    CHECK(contains(msg, "not an HDF5 file"));
  }
  SUBCASE("HDF5 without tachyon_format") {
    h5::File f = h5::create_file(path.str());
    f.reset();
    CHECK_THROWS_WITH_AS(CheckpointReader(path.str()), doctest::Contains(path.str().c_str()), Error);
    CHECK(contains(error_of([&] { CheckpointReader r(path.str()); }), "tachyon_format"));
  }
  SUBCASE("wrong tachyon_format") {
    write_small_checkpoint(path.str());
    edit_file(path.str(), [](hid_t root, const h5::Where& w) { h5::write_string_attribute(root, "tachyon_format", "pytorch", w); });
    const std::string msg = error_of([&] { CheckpointReader r(path.str()); });
    CHECK(contains(msg, path.str()));
    CHECK(contains(msg, "'pytorch'"));
  }
  SUBCASE("other format version") {
    write_small_checkpoint(path.str());
    edit_file(path.str(), [](hid_t root, const h5::Where& w) { h5::write_int_attribute(root, "tachyon_format_version", 2, w); });
    const std::string msg = error_of([&] { CheckpointReader r(path.str()); });
    CHECK(contains(msg, path.str()));
    CHECK(contains(msg, "version 2"));
    CHECK(contains(msg, "version 1"));
  }
  SUBCASE("missing config.json") {
    write_small_checkpoint(path.str());
    edit_file(path.str(), [](hid_t root, const h5::Where&) { REQUIRE(H5Ldelete(root, "metadata/config.json", H5P_DEFAULT) >= 0); });
    const std::string msg = error_of([&] { CheckpointReader r(path.str()); });
    CHECK(contains(msg, path.str()));
    CHECK(contains(msg, "/metadata/config.json"));
  }
}

TEST_CASE("checkpoint errors: a truncated file fails at open, cleanly") {
  TempPath good("good.h5"), cut("cut.h5");
  write_small_checkpoint(good.str());
  const uintmax_t size = fs::file_size(good.str());
  for (uintmax_t keep : {uintmax_t{0}, uintmax_t{7}, uintmax_t{100}, uintmax_t{1000}, size / 3, size / 2, size - 100, size - 1}) {
    CAPTURE(keep);
    fs::copy_file(good.str(), cut.str(), fs::copy_options::overwrite_existing);
    fs::resize_file(cut.str(), keep);
    CHECK_THROWS_WITH_AS(CheckpointReader(cut.str()), doctest::Contains(cut.str().c_str()), Error);
  }
  CHECK_NOTHROW(CheckpointReader(good.str()));
}

TEST_CASE("checkpoint errors: a file truncated while open fails the read, naming file and tensor") {
  TempPath path("shrunk.h5");
  write_small_checkpoint(path.str());
  CheckpointReader r(path.str());
  CHECK_NOTHROW(r.read("layers.0.moe.down", {.expert_begin = 1, .expert_end = 2}));
  fs::resize_file(path.str(), fs::file_size(path.str()) / 2);
  const std::string msg = error_of([&] { r.read("layers.0.moe.down", {.expert_begin = 2, .expert_end = 3}); });
  CHECK(contains(msg, path.str()));
  CHECK(contains(msg, "layers.0.moe.down"));
  CHECK(contains(msg, "truncated"));
}

TEST_CASE("checkpoint errors: missing tensor, bad tensor groups, bad datasets") {
  TempPath path("tensors.h5");
  write_small_checkpoint(path.str());
  const std::string p = path.str();

  SUBCASE("missing tensor") {
    CheckpointReader r(p);
    const std::string expected = "tensor 'layers.3.attn.q' not found in " + p;
    CHECK_THROWS_WITH_AS(r.read("layers.3.attn.q"), doctest::Contains(expected.c_str()), Error);
    CHECK_THROWS_WITH_AS(r.info("layers.3.attn.q"), doctest::Contains(expected.c_str()), Error);
  }
  // Each edit damages one tensor; the message must name the file, the tensor, and what is wrong.
  struct Damage {
    const char* what;
    const char* tensor;
    std::function<void(hid_t, const h5::Where&)> edit;
    const char* expect;
  };
  const std::vector<Damage> damages = {
      {"no format", "layers.0.attn.q",
       [](hid_t root, const h5::Where&) { REQUIRE(H5Adelete_by_name(root, "tensors/layers.0.attn.q", "format", H5P_DEFAULT) >= 0); },
       "'format'"},
      {"unknown format", "layers.0.attn.q",
       [](hid_t root, const h5::Where& w) {
         h5::Group g = h5::open_group(root, "tensors/layers.0.attn.q", w);
         h5::write_string_attribute(g.id(), "format", "int4", w);
       },
       "'int4'"},
      {"no shape", "final_norm",
       [](hid_t root, const h5::Where&) { REQUIRE(H5Adelete_by_name(root, "tensors/final_norm", "shape", H5P_DEFAULT) >= 0); },
       "'shape'"},
      {"shape of rank 4", "final_norm",
       [](hid_t root, const h5::Where& w) {
         h5::Group g = h5::open_group(root, "tensors/final_norm", w);
         h5::write_int_array_attribute(g.id(), "shape", {1, 1, 1, 32}, w);
       },
       "rank 4"},
      {"data dims disagree with shape", "layers.0.moe.gate_up",
       [](hid_t root, const h5::Where& w) {
         h5::Group g = h5::open_group(root, "tensors/layers.0.moe.gate_up", w);
         REQUIRE(H5Ldelete(g.id(), "data", H5P_DEFAULT) >= 0);
         h5::create_dataset(g.id(), "data", H5T_IEEE_F32LE, {4, 8, 32}, {}, w);
       },
       "[4, 8, 32]"},
      {"data of the wrong type", "layers.0.moe.gate_up",
       [](hid_t root, const h5::Where& w) {
         h5::Group g = h5::open_group(root, "tensors/layers.0.moe.gate_up", w);
         REQUIRE(H5Ldelete(g.id(), "data", H5P_DEFAULT) >= 0);
         h5::create_dataset(g.id(), "data", H5T_STD_U8LE, {4, 8, 64}, {}, w);
       },
       "uint8"},
      {"fp8 scales dims disagree with format", "layers.0.attn.q",
       [](hid_t root, const h5::Where& w) {
         h5::Group g = h5::open_group(root, "tensors/layers.0.attn.q", w);
         REQUIRE(H5Ldelete(g.id(), "scales", H5P_DEFAULT) >= 0);
         h5::create_dataset(g.id(), "scales", H5T_IEEE_F32LE, {1, 1}, {}, w);  // needs [2, 1]
       },
       "'scales'"},
      {"mxfp4 without scales", "layers.0.moe.down",
       [](hid_t root, const h5::Where&) { REQUIRE(H5Ldelete(root, "tensors/layers.0.moe.down/scales", H5P_DEFAULT) >= 0); },
       "no 'scales'"},
      {"mxfp4 data not in blocks of 16", "layers.0.moe.down",
       [](hid_t root, const h5::Where& w) {
         h5::Group g = h5::open_group(root, "tensors/layers.0.moe.down", w);
         REQUIRE(H5Ldelete(g.id(), "data", H5P_DEFAULT) >= 0);
         h5::create_dataset(g.id(), "data", H5T_STD_U8LE, {4, 32, 32}, {}, w);  // the packed bytes, not [4, 32, 2, 16]
       },
       "[4, 32, 2, 16]"},
  };
  for (const Damage& d : damages) {
    CAPTURE(d.what);
    TempPath damaged("damaged.h5");
    fs::copy_file(p, damaged.str());
    edit_file(damaged.str(), d.edit);
    CheckpointReader r(damaged.str());
    const std::string msg = error_of([&] { r.read(d.tensor); });
    CHECK(contains(msg, damaged.str()));
    CHECK(contains(msg, std::string("'") + d.tensor + "'"));
    CHECK(contains(msg, d.expect));
    CHECK(r.has("embed"));
    CHECK_NOTHROW(r.read("embed"));  // the rest of the file is still usable
  }
}

TEST_CASE("checkpoint errors: slices out of range, mxfp4 columns not on 32") {
  TempPath path("ranges.h5");
  write_small_checkpoint(path.str());
  CheckpointReader r(path.str());
  const std::vector<std::pair<std::string, TensorSlice>> bad = {
      {"layers.0.moe.down", {.expert_begin = 2, .expert_end = 5}},
      {"layers.0.moe.down", {.expert_begin = 4}},
      {"layers.0.moe.down", {.expert_begin = -1, .expert_end = 1}},
      {"layers.0.moe.down", {.row_begin = 10, .row_end = 10}},  // empty
      {"layers.0.moe.down", {.row_begin = 20, .row_end = 10}},
      {"layers.0.moe.gate_up", {.col_end = 65}},
      {"layers.0.moe.gate_up", {.col_end = -2}},
      {"embed", {.expert_begin = 1}},  // a matrix has one expert
      {"final_norm", {.row_begin = 0, .row_end = 2}},
  };
  for (const auto& [name, slice] : bad) {
    CAPTURE(name);
    const std::string s = describe(slice);
    CAPTURE(s);
    const std::string msg = error_of([&] { r.read(name, slice); });
    CHECK(contains(msg, path.str()));
    CHECK(contains(msg, "'" + name + "'"));
    CHECK(contains(msg, "out of range"));
  }
  const std::string msg = error_of([&] { r.read("layers.0.moe.down", {.col_begin = 16, .col_end = 48}); });
  CHECK(contains(msg, path.str()));
  CHECK(contains(msg, "'layers.0.moe.down'"));
  CHECK(contains(msg, "32"));
  CHECK_NOTHROW(r.read("layers.0.moe.down", {.col_begin = 32, .col_end = 64}));
}

TEST_CASE("checkpoint writer errors") {
  TempPath path("writer.h5");
  const std::string p = path.str();

  SUBCASE("close() refuses an expert tensor with experts missing, and leaves no file") {
    CheckpointWriter w(p, "target", kConfig, std::nullopt);
    w.create("layers.1.moe.down", WeightFormat::F32, {4, 8, 64});
    const std::vector<float> v = test_values({8, 64}, 3);
    w.write_expert("layers.1.moe.down", 0, make_host_weight(v.data(), {8, 64}, WeightFormat::F32));
    w.write_expert("layers.1.moe.down", 2, make_host_weight(v.data(), {8, 64}, WeightFormat::F32));
    const std::string msg = error_of([&] { w.close(); });
    CHECK(contains(msg, p));
    CHECK(contains(msg, "'layers.1.moe.down'"));
    CHECK(contains(msg, "2 of 4 experts never written (1, 3)"));
    CHECK_FALSE(fs::exists(p));
    CHECK_FALSE(fs::exists(p + ".partial"));
  }
  SUBCASE("a writer destroyed without close() leaves nothing behind") {
    {
      CheckpointWriter w(p, "target", kConfig, std::nullopt);
      w.write("final_norm", test_weight(WeightFormat::F32, {32}));
      CHECK(fs::exists(p + ".partial"));
    }
    CHECK_FALSE(fs::exists(p));
    CHECK_FALSE(fs::exists(p + ".partial"));
  }
  SUBCASE("misuse names the file and the tensor") {
    CheckpointWriter w(p, "target", kConfig, std::nullopt);
    const HostWeight norm = test_weight(WeightFormat::F32, {32});
    w.write("final_norm", norm);
    w.create("layers.0.moe.up", WeightFormat::FP8, {2, 130, 64});
    const HostWeight expert = test_weight(WeightFormat::FP8, {130, 64});

    auto check = [&](auto&& f, const std::string& tensor, const std::string& what) {
      const std::string msg = error_of(f);
      CHECK(contains(msg, p));
      CHECK(contains(msg, "'" + tensor + "'"));
      CHECK(contains(msg, what));
    };
    check([&] { w.write("final_norm", norm); }, "final_norm", "twice");
    check([&] { w.write("bad/name", norm); }, "bad/name", "not a valid tensor name");
    check([&] { w.write_expert("final_norm", 0, norm); }, "final_norm", "create()");
    check([&] { w.write_expert("layers.0.moe.up", 2, expert); }, "layers.0.moe.up", "no expert 2");
    check([&] { w.write_expert("layers.0.moe.up", 0, test_weight(WeightFormat::BF16, {130, 64})); }, "layers.0.moe.up", "bf16");
    check([&] { w.write_expert("layers.0.moe.up", 0, test_weight(WeightFormat::FP8, {128, 64})); }, "layers.0.moe.up", "[128, 64]");
    w.write_expert("layers.0.moe.up", 0, expert);
    check([&] { w.write_expert("layers.0.moe.up", 0, expert); }, "layers.0.moe.up", "twice");
    check([&] { w.create("layers.0.moe.gate", WeightFormat::F32, {8, 64}); }, "layers.0.moe.gate", "expert tensors");
    check([&] { w.create("layers.0.moe.gate", WeightFormat::MXFP4, {2, 8, 48}); }, "layers.0.moe.gate", "multiple of 32");

    HostWeight short_data = test_weight(WeightFormat::BF16, {16, 16});
    short_data.data.pop_back();
    check([&] { w.write("short", short_data); }, "short", "data bytes");
    HostWeight no_scales = test_weight(WeightFormat::FP8, {16, 16});
    no_scales.scales.clear();
    check([&] { w.write("no_scales", no_scales); }, "no_scales", "scale bytes");
    HostWeight slice = test_weight(WeightFormat::FP8, {16, 16});
    slice.scale_col0 = 3;
    check([&] { w.write("slice", slice); }, "slice", "slice");

    w.write_expert("layers.0.moe.up", 1, expert);
    w.close();
    const std::string late = error_of([&] { w.write("late", norm); });
    CHECK(contains(late, p));
    CHECK(contains(late, "closed"));
    CheckpointReader r(p);
    CHECK(r.tensors().size() == 2);  // failed writes left nothing
  }
  SUBCASE("kind must be target or drafter") {
    const std::string msg = error_of([&] { CheckpointWriter w(p, "model", kConfig, std::nullopt); });
    CHECK(contains(msg, p));
    CHECK(contains(msg, "'model'"));
  }
}
