// CheckpointReader and CheckpointWriter: the HDF5 checkpoint of docs/checkpoint-format.md, version 1.
//
// Every tensor read is a hyperslab of chunked datasets, written straight into the HostWeight's own
// buffers, so that a rank taking one expert, a row range or a column range reads that part only.
#include "model/checkpoint.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "model/error.h"
#include "model/fp8.h"
#include "model/hdf5.h"
#include "model/mxfp4.h"

// The build may pass the project version; this fallback keeps `created_by` meaningful without it.
#ifndef TACHYON_VERSION
#define TACHYON_VERSION "0.1.0"
#endif

namespace tachyon {

namespace {

constexpr const char* kFormatTag = "tachyon-checkpoint";
constexpr const char* kConfigPath = "metadata/config.json";
constexpr const char* kTokenizerPath = "metadata/tokenizer.json";
constexpr hsize_t kChunkElements = 512;  // chunk edge along rows and along cols, in logical elements

std::string shape_str(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }
std::string dims_str(const std::vector<hsize_t>& dims) { return fmt::format("[{}]", fmt::join(dims, ", ")); }

hsize_t product(const std::vector<hsize_t>& dims) {
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  return n;
}

// ---- layout: which part of `data` and `scales` holds which part of the logical tensor ------------

// Half-open ranges over the logical tensor, with the dims a tensor lacks taken as 1 (a matrix is one
// expert; a vector is one row).
struct Range {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
struct Box {
  Range experts, rows, cols;
};

struct Slab {
  std::vector<hsize_t> start, count;
};

// The blocks of the two datasets that hold `box`, and where the box's origin falls inside its fp8
// scale block.
struct Slabs {
  Slab data, scales;  // scales empty for f32/bf16
  size_t scale_row0 = 0, scale_col0 = 0;
};

hsize_t u(int64_t v) { return static_cast<hsize_t>(v); }

Slabs slabs_of(WeightFormat f, size_t rank, const Box& b) {
  Slabs s;
  // Leading dims (expert, row) shared by every dataset except the fp8 scale grid.
  Slab lead;
  if (rank == 3) lead = {{u(b.experts.begin)}, {u(b.experts.size())}};
  if (rank >= 2) {
    lead.start.push_back(u(b.rows.begin));
    lead.count.push_back(u(b.rows.size()));
  }
  auto with = [](Slab slab, std::initializer_list<hsize_t> start, std::initializer_list<hsize_t> count) {
    slab.start.insert(slab.start.end(), start);
    slab.count.insert(slab.count.end(), count);
    return slab;
  };
  switch (f) {
    case WeightFormat::F32:
    case WeightFormat::BF16:
      s.data = with(lead, {u(b.cols.begin)}, {u(b.cols.size())});
      break;
    case WeightFormat::FP8: {
      s.data = with(lead, {u(b.cols.begin)}, {u(b.cols.size())});
      // The scale grid rows/cols that cover the box: a slice starting inside a 128-block carries
      // that whole block, and records its offset inside it (see HostWeight::matrix).
      const int64_t bs = kFp8BlockSize;
      const int64_t gr0 = b.rows.begin / bs, gr1 = (b.rows.end + bs - 1) / bs;
      const int64_t gc0 = b.cols.begin / bs, gc1 = (b.cols.end + bs - 1) / bs;
      Slab grid;
      if (rank == 3) grid = {{u(b.experts.begin)}, {u(b.experts.size())}};
      if (rank >= 2) grid = with(grid, {u(gr0)}, {u(gr1 - gr0)});
      s.scales = with(grid, {u(gc0)}, {u(gc1 - gc0)});
      s.scale_row0 = rank >= 2 ? static_cast<size_t>(b.rows.begin % bs) : 0;
      s.scale_col0 = static_cast<size_t>(b.cols.begin % bs);
      break;
    }
    case WeightFormat::MXFP4: {
      const int64_t bs = kMxfp4BlockSize;
      s.data = with(lead, {u(b.cols.begin / bs), 0}, {u(b.cols.size() / bs), kMxfp4BlockBytes});
      s.scales = with(lead, {u(b.cols.begin / bs)}, {u(b.cols.size() / bs)});
      break;
    }
  }
  return s;
}

Box whole(const std::vector<int64_t>& shape) {
  const size_t r = shape.size();
  return Box{{0, r == 3 ? shape[0] : 1}, {0, r >= 2 ? shape[r - 2] : 1}, {0, shape.back()}};
}

// Chunks per docs/checkpoint-format.md: one expert, up to 512 rows, up to 512 columns' worth of the
// dataset's own inner dims (16 blocks of 16 bytes for mxfp4 data). Scale datasets follow the same rule
// over their own [.., rows, cols] (the fp8 grid, the mxfp4 scale bytes): a chunk translated from
// 512x512 weights would hold 16 fp8 scales, and millions of such chunks would make every read a
// B-tree walk. 1-D tensors are contiguous.
std::vector<hsize_t> data_chunk(WeightFormat f, size_t rank, std::vector<hsize_t> dims) {
  if (rank == 1) return {};
  if (rank == 3) dims[0] = 1;
  const size_t row = rank - 2;
  dims[row] = std::min(dims[row], kChunkElements);
  dims[row + 1] = std::min(dims[row + 1], f == WeightFormat::MXFP4 ? kChunkElements / kMxfp4BlockSize : kChunkElements);
  return dims;
}

std::vector<hsize_t> scale_chunk(size_t rank, std::vector<hsize_t> dims) {
  if (rank == 1) return {};
  if (rank == 3) dims[0] = 1;
  dims[rank - 2] = std::min(dims[rank - 2], kChunkElements);
  dims[rank - 1] = std::min(dims[rank - 1], kChunkElements);
  return dims;
}

struct ElementTypes {
  hid_t data_file, data_mem, scale_file, scale_mem;
  size_t data_size, scale_size;
};

ElementTypes element_types(WeightFormat f) {
  switch (f) {
    case WeightFormat::F32: return {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, -1, -1, 4, 0};
    case WeightFormat::BF16: return {H5T_STD_U16LE, H5T_NATIVE_UINT16, -1, -1, 2, 0};
    case WeightFormat::FP8: return {H5T_STD_U8LE, H5T_NATIVE_UINT8, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, 4};
    case WeightFormat::MXFP4: return {H5T_STD_U8LE, H5T_NATIVE_UINT8, H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, 1};
  }
  return {};
}

bool has_scales(WeightFormat f) { return f == WeightFormat::FP8 || f == WeightFormat::MXFP4; }

// Why `shape` cannot be a tensor of format `f`, or "" when it can.
std::string shape_problem(WeightFormat f, const std::vector<int64_t>& shape) {
  if (shape.empty() || shape.size() > 3)
    return fmt::format("shape {} has rank {}; tensors are [n], [rows, cols] or [experts, rows, cols]", shape_str(shape), shape.size());
  uint64_t bytes = 4;  // the widest element; a shape read from a file must not overflow a size
  for (int64_t d : shape) {
    if (d <= 0) return fmt::format("shape {} has a dimension that is not positive", shape_str(shape));
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes) || bytes > (uint64_t{1} << 60))
      return fmt::format("shape {} is too large", shape_str(shape));
  }
  if (f == WeightFormat::MXFP4 && shape.back() % kMxfp4BlockSize != 0)
    return fmt::format("shape {} is not mxfp4: the last dimension must be a multiple of 32", shape_str(shape));
  return "";
}

// Checks that `w` holds exactly the bytes its format and shape need, as a whole tensor.
void require_consistent(const HostWeight& w, const std::string& name, const std::string& file) {
  const std::string problem = shape_problem(w.format, w.shape);
  TACHYON_REQUIRE(problem.empty(), "{}: tensor '{}': {}", file, name, problem);
  const Slabs s = slabs_of(w.format, w.shape.size(), whole(w.shape));
  const ElementTypes t = element_types(w.format);
  const size_t data_bytes = product(s.data.count) * t.data_size;
  const size_t scale_bytes = has_scales(w.format) ? product(s.scales.count) * t.scale_size : 0;
  TACHYON_REQUIRE(w.data.size() == data_bytes, "{}: tensor '{}' ({} {}) has {} data bytes, expected {}", file, name,
                  format_name(w.format), shape_str(w.shape), w.data.size(), data_bytes);
  TACHYON_REQUIRE(w.scales.size() == scale_bytes, "{}: tensor '{}' ({} {}) has {} scale bytes, expected {}", file, name,
                  format_name(w.format), shape_str(w.shape), w.scales.size(), scale_bytes);
  TACHYON_REQUIRE(w.scale_row0 == 0 && w.scale_col0 == 0,
                  "{}: tensor '{}' is a slice (its scales start inside a block) and cannot be written as a whole tensor", file,
                  name);
}

}  // namespace

// ---- reader ----------------------------------------------------------------------------------------

struct CheckpointReader::Impl {
  std::string path;
  h5::File file;
  uint64_t size_at_open = 0;
  std::string kind;
  std::string config;
  std::optional<std::string> tokenizer;
  h5::Group tensors;            // /tensors; invalid when the file has none
  std::set<std::string> names;  // its members
  uint64_t bytes_read = 0;

  h5::Where where(const std::string& object = "/") const { return h5::Where{path, object}; }
  h5::Where tensor_where(const std::string& name) const { return where("/tensors/" + name); }

  h5::Group open_tensor(const std::string& name) const {
    TACHYON_REQUIRE(names.count(name) != 0, "tensor '{}' not found in {}", name, path);
    return h5::open_group(tensors.id(), name, tensor_where(name));
  }

  TensorInfo info(const std::string& name) const { return info_of(open_tensor(name), name); }

  TensorInfo info_of(const h5::Group& g, const std::string& name) const {
    const h5::Where w = tensor_where(name);
    TACHYON_REQUIRE(h5::has_attribute(g.id(), "format"), "{}: tensor '{}' has no 'format' attribute", path, name);
    TACHYON_REQUIRE(h5::has_attribute(g.id(), "shape"), "{}: tensor '{}' has no 'shape' attribute", path, name);
    TensorInfo info;
    info.name = name;
    const std::string format = h5::read_string_attribute(g.id(), "format", w);
    try {
      info.format = parse_weight_format(format);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: tensor '{}': {}", path, name, e.what()));
    }
    info.shape = h5::read_int_array_attribute(g.id(), "shape", w);
    const std::string problem = shape_problem(info.format, info.shape);
    TACHYON_REQUIRE(problem.empty(), "{}: tensor '{}': {}", path, name, problem);
    return info;
  }

  // Opens `data` or `scales` and checks its element type and dims against format and shape.
  h5::Dataset open_checked(hid_t group, const TensorInfo& info, const char* dataset, hid_t mem_type,
                           const std::vector<hsize_t>& expected) const {
    const h5::Where w = tensor_where(info.name).child(dataset);
    TACHYON_REQUIRE(h5::exists(group, dataset), "{}: tensor '{}' ({}) has no '{}' dataset", path, info.name,
                    format_name(info.format), dataset);
    h5::Dataset ds = h5::open_dataset(group, dataset, w);
    const std::vector<hsize_t> dims = h5::dataset_dims(ds, w);
    TACHYON_REQUIRE(dims == expected, "{}: tensor '{}': dataset '{}' has dims {}, but format {} and shape {} need {}", path,
                    info.name, dataset, dims_str(dims), format_name(info.format), shape_str(info.shape), dims_str(expected));
    TACHYON_REQUIRE(h5::same_type(ds, mem_type), "{}: tensor '{}': dataset '{}' holds {}, which format {} does not use", path,
                    info.name, dataset, h5::describe_type(ds), format_name(info.format));
    return ds;
  }

  Box resolve(const TensorInfo& info, const TensorSlice& slice) const {
    const Box all = whole(info.shape);
    auto range = [&](const char* what, int64_t begin, int64_t end, int64_t dim) {
      const Range r{begin, end == -1 ? dim : end};
      TACHYON_REQUIRE(r.begin >= 0 && r.begin < r.end && r.end <= dim,
                      "{}: tensor '{}' of shape {}: {} range [{}, {}) is out of range (there are {})", path, info.name,
                      shape_str(info.shape), what, begin, end, dim);
      return r;
    };
    Box b;
    b.experts = range("expert", slice.expert_begin, slice.expert_end, all.experts.end);
    b.rows = range("row", slice.row_begin, slice.row_end, all.rows.end);
    b.cols = range("column", slice.col_begin, slice.col_end, all.cols.end);
    if (info.format == WeightFormat::MXFP4)
      TACHYON_REQUIRE(b.cols.begin % kMxfp4BlockSize == 0 && b.cols.end % kMxfp4BlockSize == 0,
                      "{}: tensor '{}' is mxfp4: a column slice must begin and end on multiples of 32, not [{}, {})", path,
                      info.name, b.cols.begin, b.cols.end);
    return b;
  }

  // A checkpoint that shrinks while open would read as zeros past the new end (HDF5's file driver fills
  // short reads); refuse instead.
  void require_unchanged(const std::string& name) const {
    const uint64_t now = h5::current_file_size(file, path);
    TACHYON_REQUIRE(now >= size_at_open,
                    "{}: the file was truncated while open ({} bytes, {} when opened); cannot read tensor '{}'", path, now,
                    size_at_open, name);
  }

  void read(const std::string& name, const TensorSlice& slice, HostWeight& w) {
    h5::silence_errors();
    h5::Group g = open_tensor(name);
    const TensorInfo ti = info_of(g, name);
    const size_t rank = ti.shape.size();
    const ElementTypes types = element_types(ti.format);
    const Slabs full = slabs_of(ti.format, rank, whole(ti.shape));
    h5::Dataset data = open_checked(g.id(), ti, "data", types.data_mem, full.data.count);
    h5::Dataset scales;
    if (has_scales(ti.format)) scales = open_checked(g.id(), ti, "scales", types.scale_mem, full.scales.count);

    const Box box = resolve(ti, slice);
    const Slabs part = slabs_of(ti.format, rank, box);
    w.format = ti.format;
    w.shape.clear();
    if (rank == 3) w.shape.push_back(box.experts.size());
    if (rank >= 2) w.shape.push_back(box.rows.size());
    w.shape.push_back(box.cols.size());
    w.scale_row0 = part.scale_row0;
    w.scale_col0 = part.scale_col0;
    w.data.resize(product(part.data.count) * types.data_size);
    w.scales.resize(has_scales(ti.format) ? product(part.scales.count) * types.scale_size : 0);

    require_unchanged(name);
    const h5::Where w_data = tensor_where(name).child("data");
    h5::read_hyperslab(data, types.data_mem, part.data.start, part.data.count, w.data.data(), w_data);
    if (has_scales(ti.format))
      h5::read_hyperslab(scales, types.scale_mem, part.scales.start, part.scales.count, w.scales.data(),
                         tensor_where(name).child("scales"));
    bytes_read += w.data.size() + w.scales.size();
  }
};

CheckpointReader::CheckpointReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  m.file = h5::open_file_readonly(path);
  m.size_at_open = h5::current_file_size(m.file, path);
  const hid_t root = m.file.id();
  const h5::Where w = m.where();

  TACHYON_REQUIRE(h5::has_attribute(root, "tachyon_format"),
                  "{}: not a Tachyon checkpoint (the file has no 'tachyon_format' attribute)", path);
  const std::string tag = h5::read_string_attribute(root, "tachyon_format", w);
  TACHYON_REQUIRE(tag == kFormatTag, "{}: not a Tachyon checkpoint (tachyon_format is '{}', expected '{}')", path, tag, kFormatTag);
  TACHYON_REQUIRE(h5::has_attribute(root, "tachyon_format_version"), "{}: the checkpoint has no 'tachyon_format_version'", path);
  const int64_t version = h5::read_int_attribute(root, "tachyon_format_version", w);
  TACHYON_REQUIRE(version == kCheckpointFormatVersion,
                  "{}: checkpoint format version {}, but this Tachyon reads version {}; convert the model again with "
                  "this version of `tachyon convert`",
                  path, version, kCheckpointFormatVersion);
  TACHYON_REQUIRE(h5::has_attribute(root, "kind"), "{}: the checkpoint has no 'kind' attribute", path);
  m.kind = h5::read_string_attribute(root, "kind", w);
  TACHYON_REQUIRE(m.kind == "target" || m.kind == "drafter", "{}: checkpoint kind '{}' is neither 'target' nor 'drafter'", path,
                  m.kind);

  TACHYON_REQUIRE(h5::exists(root, kConfigPath), "{}: the checkpoint has no /{} (the model's config)", path, kConfigPath);
  m.config = h5::read_bytes(root, kConfigPath, m.where(std::string("/") + kConfigPath));
  if (h5::exists(root, kTokenizerPath)) m.tokenizer = h5::read_bytes(root, kTokenizerPath, m.where(std::string("/") + kTokenizerPath));

  if (h5::exists(root, "tensors")) {
    m.tensors = h5::open_group(root, "tensors", m.where("/tensors"));
    for (std::string& name : h5::list_links(m.tensors.id(), m.where("/tensors"))) m.names.insert(std::move(name));
  }
}

CheckpointReader::~CheckpointReader() = default;
CheckpointReader::CheckpointReader(CheckpointReader&&) noexcept = default;
CheckpointReader& CheckpointReader::operator=(CheckpointReader&&) noexcept = default;

const std::string& CheckpointReader::path() const { return impl_->path; }
const std::string& CheckpointReader::kind() const { return impl_->kind; }
const std::string& CheckpointReader::config_json() const { return impl_->config; }
const std::optional<std::string>& CheckpointReader::tokenizer_json() const { return impl_->tokenizer; }
bool CheckpointReader::has(const std::string& name) const { return impl_->names.count(name) != 0; }
TensorInfo CheckpointReader::info(const std::string& name) const { return impl_->info(name); }
uint64_t CheckpointReader::bytes_read() const { return impl_->bytes_read; }

std::vector<TensorInfo> CheckpointReader::tensors() const {
  std::vector<TensorInfo> out;
  out.reserve(impl_->names.size());
  for (const std::string& name : impl_->names) out.push_back(impl_->info(name));
  return out;
}

HostWeight CheckpointReader::read(const std::string& name, const TensorSlice& slice) const {
  HostWeight w;
  impl_->read(name, slice, w);
  return w;
}

void CheckpointReader::read_into(const std::string& name, const TensorSlice& slice, HostWeight& w) const {
  impl_->read(name, slice, w);
}

// ---- writer ----------------------------------------------------------------------------------------

// The file is written as "<path>.partial" and renamed by close(), so that an interrupted conversion
// never leaves something at `path` that looks like a checkpoint (unwritten chunks would read as zeros).
struct CheckpointWriter::Impl {
  std::string path, partial_path;
  h5::File file;
  h5::Group tensors;
  struct Pending {
    WeightFormat format;
    std::vector<int64_t> shape;
    std::vector<bool> written;  // per expert
  };
  std::map<std::string, Pending> pending;  // made by create(), filled by write_expert()
  std::set<std::string> names;             // every tensor written or created
  bool closed = false;

  h5::Where tensor_where(const std::string& name) const { return h5::Where{path, "/tensors/" + name}; }

  void require_open() const { TACHYON_REQUIRE(!closed, "{}: the checkpoint writer is already closed", path); }

  void require_new_name(const std::string& name) const {
    TACHYON_REQUIRE(!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..",
                    "{}: '{}' is not a valid tensor name (non-empty, no '/')", path, name);
    TACHYON_REQUIRE(names.count(name) == 0, "{}: tensor '{}' is written twice", path, name);
  }

  // Makes /tensors/<name> with its attributes and empty datasets.
  h5::Group make_tensor(const std::string& name, WeightFormat f, const std::vector<int64_t>& shape) {
    const h5::Where w = tensor_where(name);
    h5::Group g = h5::create_group(tensors.id(), name, w);
    h5::write_string_attribute(g.id(), "format", format_name(f), w);
    h5::write_int_array_attribute(g.id(), "shape", shape, w);
    const Slabs full = slabs_of(f, shape.size(), whole(shape));
    const ElementTypes t = element_types(f);
    h5::create_dataset(g.id(), "data", t.data_file, full.data.count, data_chunk(f, shape.size(), full.data.count),
                       w.child("data"));
    if (has_scales(f))
      h5::create_dataset(g.id(), "scales", t.scale_file, full.scales.count, scale_chunk(shape.size(), full.scales.count),
                         w.child("scales"));
    names.insert(name);
    return g;
  }

  // Writes `w`'s bytes (exactly the box's worth) into the tensor's datasets.
  void write_box(const h5::Group& g, const std::string& name, WeightFormat f, size_t rank, const Box& box,
                 const HostWeight& w) {
    const Slabs s = slabs_of(f, rank, box);
    const ElementTypes t = element_types(f);
    const h5::Where where = tensor_where(name);
    h5::Dataset data = h5::open_dataset(g.id(), "data", where.child("data"));
    h5::write_hyperslab(data, t.data_mem, s.data.start, s.data.count, w.data.data(), where.child("data"));
    if (has_scales(f)) {
      h5::Dataset scales = h5::open_dataset(g.id(), "scales", where.child("scales"));
      h5::write_hyperslab(scales, t.scale_mem, s.scales.start, s.scales.count, w.scales.data(), where.child("scales"));
    }
  }

  // Closes every handle and deletes the partial file: nothing is left behind.
  void abandon() noexcept {
    tensors.reset();
    file.reset();
    std::error_code ec;
    std::filesystem::remove(partial_path, ec);
    closed = true;
  }
};

CheckpointWriter::CheckpointWriter(const std::string& path, const std::string& kind, const std::string& config_json,
                                   const std::optional<std::string>& tokenizer_json)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  m.partial_path = path + ".partial";
  TACHYON_REQUIRE(kind == "target" || kind == "drafter", "{}: checkpoint kind must be 'target' or 'drafter', not '{}'", path, kind);
  m.file = h5::create_file(m.partial_path);
  try {
    const hid_t root = m.file.id();
    const h5::Where w{path, "/"};
    h5::write_string_attribute(root, "tachyon_format", kFormatTag, w);
    h5::write_int_attribute(root, "tachyon_format_version", kCheckpointFormatVersion, w);
    h5::write_string_attribute(root, "kind", kind, w);
    h5::write_string_attribute(root, "created_by", "tachyon convert " TACHYON_VERSION, w);
    h5::Group metadata = h5::create_group(root, "metadata", h5::Where{path, "/metadata"});
    h5::write_bytes(metadata.id(), "config.json", config_json, h5::Where{path, "/metadata/config.json"});
    if (tokenizer_json) h5::write_bytes(metadata.id(), "tokenizer.json", *tokenizer_json, h5::Where{path, "/metadata/tokenizer.json"});
    m.tensors = h5::create_group(root, "tensors", h5::Where{path, "/tensors"});
  } catch (...) {
    m.abandon();
    throw;
  }
}

// Without close(), the conversion did not finish (an exception is unwinding): discard the file.
CheckpointWriter::~CheckpointWriter() {
  if (impl_ && !impl_->closed) impl_->abandon();
}

void CheckpointWriter::write(const std::string& name, const HostWeight& weight) {
  Impl& m = *impl_;
  m.require_open();
  m.require_new_name(name);
  require_consistent(weight, name, m.path);
  h5::Group g = m.make_tensor(name, weight.format, weight.shape);
  m.write_box(g, name, weight.format, weight.shape.size(), whole(weight.shape), weight);
}

void CheckpointWriter::create(const std::string& name, WeightFormat format, const std::vector<int64_t>& shape) {
  Impl& m = *impl_;
  m.require_open();
  m.require_new_name(name);
  TACHYON_REQUIRE(shape.size() == 3, "{}: tensor '{}': create() is for expert tensors [experts, rows, cols], not shape {}", m.path,
                  name, shape_str(shape));
  const std::string problem = shape_problem(format, shape);
  TACHYON_REQUIRE(problem.empty(), "{}: tensor '{}': {}", m.path, name, problem);
  m.make_tensor(name, format, shape);
  m.pending[name] = Impl::Pending{format, shape, std::vector<bool>(static_cast<size_t>(shape[0]), false)};
}

void CheckpointWriter::write_expert(const std::string& name, int64_t expert, const HostWeight& matrix) {
  Impl& m = *impl_;
  m.require_open();
  const auto it = m.pending.find(name);
  TACHYON_REQUIRE(it != m.pending.end(), "{}: tensor '{}' was not made with create(), so write_expert() cannot fill it", m.path,
                  name);
  Impl::Pending& p = it->second;
  const int64_t experts = p.shape[0], rows = p.shape[1], cols = p.shape[2];
  TACHYON_REQUIRE(expert >= 0 && expert < experts, "{}: tensor '{}' has {} experts; there is no expert {}", m.path, name, experts,
                  expert);
  TACHYON_REQUIRE(matrix.format == p.format, "{}: tensor '{}' is {}, but expert {} is {}", m.path, name, format_name(p.format),
                  expert, format_name(matrix.format));
  const bool as_matrix = matrix.shape == std::vector<int64_t>{rows, cols};
  const bool as_one_expert = matrix.shape == std::vector<int64_t>{1, rows, cols};
  TACHYON_REQUIRE(as_matrix || as_one_expert, "{}: tensor '{}' has experts of shape [{}, {}], but expert {} has shape {}", m.path,
                  name, rows, cols, expert, shape_str(matrix.shape));
  require_consistent(matrix, name, m.path);
  TACHYON_REQUIRE(!p.written[static_cast<size_t>(expert)], "{}: tensor '{}': expert {} is written twice", m.path, name, expert);
  h5::Group g = h5::open_group(m.tensors.id(), name, m.tensor_where(name));
  m.write_box(g, name, p.format, 3, Box{{expert, expert + 1}, {0, rows}, {0, cols}}, matrix);
  p.written[static_cast<size_t>(expert)] = true;
}

void CheckpointWriter::close() {
  Impl& m = *impl_;
  if (m.closed) return;
  std::string missing;
  for (const auto& [name, p] : m.pending) {
    std::vector<size_t> unwritten;
    for (size_t e = 0; e < p.written.size(); ++e)
      if (!p.written[e]) unwritten.push_back(e);
    if (unwritten.empty()) continue;
    constexpr size_t kListed = 16;
    const size_t listed = std::min(unwritten.size(), kListed);
    missing += fmt::format("{}tensor '{}': {} of {} experts never written ({}{})", missing.empty() ? "" : "; ", name,
                           unwritten.size(), p.written.size(),
                           fmt::join(unwritten.begin(), unwritten.begin() + static_cast<std::ptrdiff_t>(listed), ", "),
                           unwritten.size() > listed ? ", ..." : "");
  }
  if (!missing.empty()) {
    m.abandon();
    throw Error(fmt::format("{}: incomplete checkpoint, not saved: {}", m.path, missing));
  }
  try {
    m.tensors.reset();
    h5::close_file(m.file, m.path);
    std::error_code ec;
    std::filesystem::rename(m.partial_path, m.path, ec);
    TACHYON_REQUIRE(!ec, "{}: cannot move {} into place: {}", m.path, m.partial_path, ec.message());
  } catch (...) {
    m.abandon();
    throw;
  }
  m.closed = true;
}

ModelConfig target_model_config(const CheckpointReader& reader) {
  TACHYON_REQUIRE(reader.kind() == "target", "{}: this is a {} checkpoint, not a target model{}", reader.path(), reader.kind(),
                  reader.kind() == "drafter" ? " (a DFlash drafter is given with --drafter, next to its target)" : "");
  return parse_model_config(reader.config_json(), reader.path() + ": config.json");
}

}  // namespace tachyon
