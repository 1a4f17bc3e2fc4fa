// The HDF5 helpers of model/hdf5.h: every failure becomes a tachyon::Error naming file and object.
#include "model/hdf5.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "model/error.h"

namespace tachyon::h5 {

namespace {

herr_t keep_innermost(unsigned n, const H5E_error2_t* err, void* client) {
  // Walking upward, frame 0 is where HDF5 detected the problem: the only frame that says why.
  auto* out = static_cast<std::string*>(client);
  if (out->empty() && err->desc != nullptr && err->desc[0] != '\0') *out = err->desc;
  return 0;
}

herr_t collect_link(hid_t, const char* name, const H5L_info_t*, void* client) {
  static_cast<std::vector<std::string>*>(client)->emplace_back(name);
  return 0;
}

Dataspace scalar_space() { return Dataspace(H5Screate(H5S_SCALAR)); }

// Opens `name` for writing, replacing an existing attribute of that name.
Attribute create_attribute(hid_t obj, const std::string& name, hid_t type, hid_t space, const Where& where) {
  silence_errors();
  if (has_attribute(obj, name) && H5Adelete(obj, name.c_str()) < 0) fail(where, fmt::format("cannot replace attribute '{}'", name));
  Attribute attr(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr) fail(where, fmt::format("cannot create attribute '{}'", name));
  return attr;
}

Attribute open_attribute(hid_t obj, const std::string& name, const Where& where) {
  silence_errors();
  if (!has_attribute(obj, name)) fail(where, fmt::format("has no attribute '{}'", name));
  Attribute attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  if (!attr) fail(where, fmt::format("cannot open attribute '{}'", name));
  return attr;
}

hssize_t attribute_points(const Attribute& attr, const std::string& name, const Where& where) {
  Dataspace space(H5Aget_space(attr.id()));
  if (!space) fail(where, fmt::format("cannot read the dataspace of attribute '{}'", name));
  const hssize_t n = H5Sget_simple_extent_npoints(space.id());
  if (n < 0) fail(where, fmt::format("cannot read the dataspace of attribute '{}'", name));
  return n;
}

// File access: the default (sec2) driver, whose handle current_file_size() relies on, and best-effort
// locking: a lock where the file system supports one, no failure where it does not (some parallel file
// systems refuse flock, and every rank opens the checkpoint at once).
PropList file_access(const std::string& path) {
  PropList fapl(H5Pcreate(H5P_FILE_ACCESS));
  if (!fapl || H5Pset_file_locking(fapl.id(), true, true) < 0) fail(Where{path, "/"}, "cannot make the file access properties");
  return fapl;
}

// Object creation properties shared by groups and datasets: no modification times, so that converting
// the same model twice gives byte-identical files.
void untimed(hid_t plist) { H5Pset_obj_track_times(plist, false); }

}  // namespace

Where Where::child(std::string_view name) const {
  return Where{file, object == "/" ? fmt::format("/{}", name) : fmt::format("{}/{}", object, name)};
}

std::string Where::str() const { return object.empty() || object == "/" ? file : fmt::format("{}: {}", file, object); }

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

std::string take_error_detail() {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, &detail);
  H5Eclear2(H5E_DEFAULT);
  return detail;
}

void fail(const Where& where, std::string_view what) {
  const std::string detail = take_error_detail();
  throw Error(fmt::format("{}: {}{}", where.str(), what, detail.empty() ? "" : fmt::format(" (HDF5: {})", detail)));
}

// ---- files, groups, datasets ----------------------------------------------------------------------

File open_file_readonly(const std::string& path) {
  silence_errors();
  std::error_code ec;
  TACHYON_REQUIRE(std::filesystem::exists(path, ec), "{}: no such file", path);
  TACHYON_REQUIRE(!std::filesystem::is_directory(path, ec), "{}: is a directory, not an HDF5 file", path);
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 == 0) {
    H5Eclear2(H5E_DEFAULT);
    throw Error(fmt::format("{}: not an HDF5 file", path));
  }
  PropList fapl = file_access(path);
  File file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.id()));
  // HDF5 compares the end-of-file address in the superblock with the real size here, so a truncated
  // file fails now ("truncated file: eof = ...") rather than somewhere in the middle of a read.
  if (!file) fail(Where{path, "/"}, "cannot open the file: it is damaged or truncated");
  return file;
}

File create_file(const std::string& path) {
  silence_errors();
  PropList fapl = file_access(path);
  File file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()));
  if (!file) fail(Where{path, "/"}, "cannot create the file");
  return file;
}

void close_file(File& file, const std::string& path) {
  silence_errors();
  if (!file) return;
  if (H5Fflush(file.id(), H5F_SCOPE_LOCAL) < 0) {
    file.reset();
    fail(Where{path, "/"}, "cannot flush the file (disk full?)");
  }
  if (H5Fclose(file.release()) < 0) fail(Where{path, "/"}, "cannot close the file");
}

uint64_t current_file_size(const File& file, const std::string& path) {
  silence_errors();
  void* handle = nullptr;
  if (H5Fget_vfd_handle(file.id(), H5P_DEFAULT, &handle) < 0 || handle == nullptr)
    fail(Where{path, "/"}, "cannot get the file descriptor");
  struct stat st {};
  // Files are opened with the default (sec2) driver, whose handle is a pointer to the descriptor.
  TACHYON_REQUIRE(fstat(*static_cast<int*>(handle), &st) == 0, "{}: cannot stat the file", path);
  return static_cast<uint64_t>(st.st_size);
}

bool exists(hid_t loc, const std::string& name) {
  silence_errors();
  // H5Lexists fails (rather than answering false) when an intermediate group is missing, so walk.
  size_t pos = 0;
  while (pos <= name.size()) {
    const size_t slash = name.find('/', pos);
    const std::string prefix = name.substr(0, slash);
    if (!prefix.empty() && H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return true;
}

std::vector<std::string> list_links(hid_t loc, const Where& where) {
  silence_errors();
  std::vector<std::string> names;
  if (H5Literate(loc, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_link, &names) < 0) fail(where, "cannot list the group");
  return names;
}

Group open_group(hid_t loc, const std::string& name, const Where& where) {
  silence_errors();
  Group g(H5Gopen2(loc, name.c_str(), H5P_DEFAULT));
  if (!g) fail(where, "cannot open the group");
  return g;
}

Group create_group(hid_t loc, const std::string& name, const Where& where) {
  silence_errors();
  PropList gcpl(H5Pcreate(H5P_GROUP_CREATE));
  if (!gcpl) fail(where, "cannot create a property list");
  untimed(gcpl.id());
  Group g(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl.id(), H5P_DEFAULT));
  if (!g) fail(where, "cannot create the group");
  return g;
}

Dataset open_dataset(hid_t loc, const std::string& name, const Where& where) {
  silence_errors();
  Dataset ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
  if (!ds) fail(where, "cannot open the dataset");
  return ds;
}

Dataset create_dataset(hid_t loc, const std::string& name, hid_t file_type, const std::vector<hsize_t>& dims,
                       const std::vector<hsize_t>& chunk, const Where& where) {
  silence_errors();
  Dataspace space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  if (!space) fail(where, "cannot create the dataspace");
  PropList dcpl(H5Pcreate(H5P_DATASET_CREATE));
  if (!dcpl) fail(where, "cannot create a property list");
  untimed(dcpl.id());
  if (!chunk.empty()) {
    TACHYON_CHECK(chunk.size() == dims.size(), "chunk rank {} vs dataset rank {}", chunk.size(), dims.size());
    if (H5Pset_chunk(dcpl.id(), static_cast<int>(chunk.size()), chunk.data()) < 0) fail(where, "cannot set the chunk shape");
  }
  Dataset ds(H5Dcreate2(loc, name.c_str(), file_type, space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT));
  if (!ds) fail(where, "cannot create the dataset");
  return ds;
}

std::vector<hsize_t> dataset_dims(const Dataset& ds, const Where& where) {
  silence_errors();
  Dataspace space(H5Dget_space(ds.id()));
  if (!space) fail(where, "cannot read the dataspace");
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0) fail(where, "cannot read the dataspace");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr) < 0) fail(where, "cannot read the dataspace");
  return dims;
}

std::vector<hsize_t> dataset_chunk(const Dataset& ds, const Where& where) {
  silence_errors();
  PropList dcpl(H5Dget_create_plist(ds.id()));
  if (!dcpl) fail(where, "cannot read the creation properties");
  if (H5Pget_layout(dcpl.id()) != H5D_CHUNKED) return {};
  std::vector<hsize_t> chunk(H5S_MAX_RANK);
  const int rank = H5Pget_chunk(dcpl.id(), H5S_MAX_RANK, chunk.data());
  if (rank < 0) fail(where, "cannot read the chunk shape");
  chunk.resize(static_cast<size_t>(rank));
  return chunk;
}

bool same_type(const Dataset& ds, hid_t mem_type) {
  silence_errors();
  Datatype type(H5Dget_type(ds.id()));
  if (!type) return false;
  const H5T_class_t cls = H5Tget_class(type.id());
  if (cls != H5Tget_class(mem_type) || H5Tget_size(type.id()) != H5Tget_size(mem_type)) return false;
  return cls != H5T_INTEGER || H5Tget_sign(type.id()) == H5Tget_sign(mem_type);
}

std::string describe_type(const Dataset& ds) {
  silence_errors();
  Datatype type(H5Dget_type(ds.id()));
  if (!type) return "unknown type";
  const size_t bits = H5Tget_size(type.id()) * 8;
  switch (H5Tget_class(type.id())) {
    case H5T_INTEGER: return fmt::format("{}int{}", H5Tget_sign(type.id()) == H5T_SGN_NONE ? "u" : "", bits);
    case H5T_FLOAT: return fmt::format("float{}", bits);
    case H5T_STRING: return "string";
    default: return fmt::format("a non-numeric type of {} bits", bits);
  }
}

namespace {

// Selects [start, start+count) in the dataset's space and a dense memory space of `count`.
std::pair<Dataspace, Dataspace> hyperslab_spaces(const Dataset& ds, const std::vector<hsize_t>& start,
                                                 const std::vector<hsize_t>& count, const Where& where) {
  Dataspace file_space(H5Dget_space(ds.id()));
  if (!file_space) fail(where, "cannot read the dataspace");
  const int rank = H5Sget_simple_extent_ndims(file_space.id());
  TACHYON_CHECK(rank == static_cast<int>(start.size()) && start.size() == count.size(), "hyperslab rank {}/{} for a dataset of rank {}",
                start.size(), count.size(), rank);
  if (H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr) < 0)
    fail(where, "cannot select the hyperslab");
  Dataspace mem_space(H5Screate_simple(rank, count.data(), nullptr));
  if (!mem_space) fail(where, "cannot create the memory dataspace");
  return {std::move(file_space), std::move(mem_space)};
}

std::string describe_block(const std::vector<hsize_t>& start, const std::vector<hsize_t>& count) {
  std::string s;
  for (size_t i = 0; i < start.size(); ++i) s += fmt::format("{}{}:{}", i ? ", " : "", start[i], start[i] + count[i]);
  return "[" + s + "]";
}

// read_hyperslab reads slabs chunk-wise (model/hdf5_chunkwise.cpp) of at least this many bytes, on machines of at
// least this many cores. Measured, a rank's load of a 15.4 GB shard onto an
// H200 from the page cache: 16 cores, 6.2-6.6 s against 8.4-11.0 through H5Dread; from disk the same (the disk's
// pace); 2 cores, slower than H5Dread (docs/benchmarks.md, session 24).
constexpr size_t kChunkwiseMinBytes = size_t{4} << 20;
constexpr unsigned kChunkwiseMinCores = 4;

}  // namespace

void read_hyperslab(const Dataset& ds, hid_t mem_type, const std::vector<hsize_t>& start,
                    const std::vector<hsize_t>& count, void* dst, const Where& where) {
  silence_errors();
  size_t bytes = H5Tget_size(mem_type);
  for (hsize_t c : count) bytes *= c;
  if (bytes >= kChunkwiseMinBytes && std::thread::hardware_concurrency() >= kChunkwiseMinCores &&
      read_hyperslab_chunkwise(ds, mem_type, start, count, dst, where))
    return;
  auto [file_space, mem_space] = hyperslab_spaces(ds, start, count, where);
  if (H5Dread(ds.id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, dst) < 0)
    fail(where, fmt::format("cannot read {}", describe_block(start, count)));
}

void write_hyperslab(const Dataset& ds, hid_t mem_type, const std::vector<hsize_t>& start,
                     const std::vector<hsize_t>& count, const void* src, const Where& where) {
  silence_errors();
  auto [file_space, mem_space] = hyperslab_spaces(ds, start, count, where);
  if (H5Dwrite(ds.id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, src) < 0)
    fail(where, fmt::format("cannot write {}", describe_block(start, count)));
}

void write_bytes(hid_t loc, const std::string& name, std::string_view bytes, const Where& where) {
  Dataset ds = create_dataset(loc, name, H5T_STD_U8LE, {bytes.size()}, {}, where);
  if (!bytes.empty()) write_hyperslab(ds, H5T_NATIVE_UINT8, {0}, {bytes.size()}, bytes.data(), where);
}

std::string read_bytes(hid_t loc, const std::string& name, const Where& where) {
  Dataset ds = open_dataset(loc, name, where);
  const std::vector<hsize_t> dims = dataset_dims(ds, where);
  if (dims.size() != 1 || !same_type(ds, H5T_NATIVE_UINT8))
    throw Error(fmt::format("{}: expected a 1-D uint8 dataset, found {} of rank {}", where.str(), describe_type(ds), dims.size()));
  std::string bytes(dims[0], '\0');
  if (!bytes.empty()) read_hyperslab(ds, H5T_NATIVE_UINT8, {0}, {dims[0]}, bytes.data(), where);
  return bytes;
}

// ---- attributes -----------------------------------------------------------------------------------

bool has_attribute(hid_t obj, const std::string& name) {
  silence_errors();
  const htri_t r = H5Aexists(obj, name.c_str());
  if (r < 0) H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

void write_string_attribute(hid_t obj, const std::string& name, std::string_view value, const Where& where) {
  silence_errors();
  Datatype type(H5Tcopy(H5T_C_S1));
  // A fixed-length type cannot have size 0; an empty string is stored as one NUL.
  if (!type || H5Tset_size(type.id(), std::max<size_t>(value.size(), 1)) < 0 ||
      H5Tset_strpad(type.id(), H5T_STR_NULLPAD) < 0 || H5Tset_cset(type.id(), H5T_CSET_UTF8) < 0)
    fail(where, fmt::format("cannot make the string type of attribute '{}'", name));
  Dataspace space = scalar_space();
  Attribute attr = create_attribute(obj, name, type.id(), space.id(), where);
  std::string buf(value);
  if (buf.empty()) buf.push_back('\0');
  if (H5Awrite(attr.id(), type.id(), buf.data()) < 0) fail(where, fmt::format("cannot write attribute '{}'", name));
}

std::string read_string_attribute(hid_t obj, const std::string& name, const Where& where) {
  Attribute attr = open_attribute(obj, name, where);
  Datatype file_type(H5Aget_type(attr.id()));
  if (!file_type) fail(where, fmt::format("cannot read the type of attribute '{}'", name));
  if (H5Tget_class(file_type.id()) != H5T_STRING)
    throw Error(fmt::format("{}: attribute '{}' is not a string", where.str(), name));
  if (attribute_points(attr, name, where) != 1)
    throw Error(fmt::format("{}: attribute '{}' is not a single string", where.str(), name));
  Datatype mem_type(H5Tcopy(H5T_C_S1));
  if (!mem_type) fail(where, "cannot make a string type");
  H5Tset_cset(mem_type.id(), H5Tget_cset(file_type.id()));
  const htri_t variable = H5Tis_variable_str(file_type.id());
  if (variable < 0) fail(where, fmt::format("cannot read the type of attribute '{}'", name));
  if (variable > 0) {
    // Variable-length strings (what h5py writes for a Python str): HDF5 allocates, we free.
    H5Tset_size(mem_type.id(), H5T_VARIABLE);
    char* p = nullptr;
    if (H5Aread(attr.id(), mem_type.id(), &p) < 0) fail(where, fmt::format("cannot read attribute '{}'", name));
    std::string value = p != nullptr ? std::string(p) : std::string();
    H5free_memory(p);
    return value;
  }
  const size_t size = H5Tget_size(file_type.id());
  H5Tset_size(mem_type.id(), size);
  H5Tset_strpad(mem_type.id(), H5T_STR_NULLPAD);
  std::string buf(size, '\0');
  if (H5Aread(attr.id(), mem_type.id(), buf.data()) < 0) fail(where, fmt::format("cannot read attribute '{}'", name));
  buf.resize(std::min(buf.find('\0'), buf.size()));
  return buf;
}

void write_int_attribute(hid_t obj, const std::string& name, int32_t value, const Where& where) {
  Dataspace space = scalar_space();
  Attribute attr = create_attribute(obj, name, H5T_STD_I32LE, space.id(), where);
  if (H5Awrite(attr.id(), H5T_NATIVE_INT32, &value) < 0) fail(where, fmt::format("cannot write attribute '{}'", name));
}

int64_t read_int_attribute(hid_t obj, const std::string& name, const Where& where) {
  Attribute attr = open_attribute(obj, name, where);
  Datatype type(H5Aget_type(attr.id()));
  if (!type || H5Tget_class(type.id()) != H5T_INTEGER || attribute_points(attr, name, where) != 1)
    throw Error(fmt::format("{}: attribute '{}' is not a single integer", where.str(), name));
  int64_t value = 0;
  if (H5Aread(attr.id(), H5T_NATIVE_INT64, &value) < 0) fail(where, fmt::format("cannot read attribute '{}'", name));
  return value;
}

void write_int_array_attribute(hid_t obj, const std::string& name, const std::vector<int64_t>& values,
                               const Where& where) {
  silence_errors();
  const hsize_t n = values.size();
  Dataspace space(H5Screate_simple(1, &n, nullptr));
  if (!space) fail(where, fmt::format("cannot create the dataspace of attribute '{}'", name));
  Attribute attr = create_attribute(obj, name, H5T_STD_I64LE, space.id(), where);
  if (n > 0 && H5Awrite(attr.id(), H5T_NATIVE_INT64, values.data()) < 0)
    fail(where, fmt::format("cannot write attribute '{}'", name));
}

std::vector<int64_t> read_int_array_attribute(hid_t obj, const std::string& name, const Where& where) {
  Attribute attr = open_attribute(obj, name, where);
  Datatype type(H5Aget_type(attr.id()));
  if (!type || H5Tget_class(type.id()) != H5T_INTEGER)
    throw Error(fmt::format("{}: attribute '{}' is not an integer array", where.str(), name));
  std::vector<int64_t> values(static_cast<size_t>(attribute_points(attr, name, where)));
  if (!values.empty() && H5Aread(attr.id(), H5T_NATIVE_INT64, values.data()) < 0)
    fail(where, fmt::format("cannot read attribute '{}'", name));
  return values;
}

}  // namespace tachyon::h5
