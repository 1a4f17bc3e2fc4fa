// Hugging Face safetensors: memory-mapped reading of one file or a model directory, and writing.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON ({name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__": {string: string}}), then the data section; offsets are
// relative to the data section. Everything in the header is checked against the file before any
// tensor is handed out, so a view never points outside the mapping.
#include "model/safetensors.h"
#include "model/text_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "model/bf16.h"
#include "model/error.h"

namespace tachyon {

// The header length, the offsets and the element bytes are little-endian; so is every host we run on.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct DtypeInfo {
  StDtype dtype;
  const char* name;
  size_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {StDtype::F64, "F64", 8}, {StDtype::F32, "F32", 4}, {StDtype::F16, "F16", 2},         {StDtype::BF16, "BF16", 2},
    {StDtype::F8_E4M3, "F8_E4M3", 1}, {StDtype::I64, "I64", 8}, {StDtype::I32, "I32", 4}, {StDtype::I16, "I16", 2},
    {StDtype::I8, "I8", 1},   {StDtype::U8, "U8", 1},   {StDtype::BOOL, "BOOL", 1},
};

const DtypeInfo& dtype_info(StDtype d) {
  for (const DtypeInfo& info : kDtypes)
    if (info.dtype == d) return info;
  TACHYON_CHECK(false, "unknown StDtype {}", static_cast<int>(d));
  return kDtypes[0];  // not reached
}

const DtypeInfo* find_dtype(const std::string& name) {
  for (const DtypeInfo& info : kDtypes)
    if (name == info.name) return &info;
  return nullptr;
}

// n * m, or false when it overflows: shapes come from untrusted headers.
bool mul(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

// Parses a header, refusing duplicate tensor names (nlohmann::json would silently keep the last one).
json parse_header(const char* begin, const char* end, const std::string& path) {
  std::set<std::string> keys;
  std::string duplicate;
  const json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && !keys.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  json header;
  try {
    header = json::parse(begin, end, on_event);
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: the safetensors header is not valid JSON: {}", path, e.what()));
  }
  TACHYON_REQUIRE(duplicate.empty(), "{}: tensor '{}' appears twice in the safetensors header", path, duplicate);
  TACHYON_REQUIRE(header.is_object(), "{}: the safetensors header is not a JSON object", path);
  return header;
}

// Reads one header entry; `data_bytes` is the size of the data section.
StTensor parse_entry(const std::string& name, const json& entry, const uint8_t* data_section, uint64_t data_bytes,
                     const std::string& path) {
  auto bad = [&](const std::string& why) { return Error(fmt::format("{}: tensor '{}': {}", path, name, why)); };
  if (!entry.is_object()) throw bad("the header entry is not an object");
  if (!entry.contains("dtype") || !entry["dtype"].is_string()) throw bad("no 'dtype' string");
  if (!entry.contains("shape") || !entry["shape"].is_array()) throw bad("no 'shape' array");
  if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
    throw bad("no 'data_offsets' [begin, end]");

  StTensor t;
  t.name = name;
  t.file = path;
  const std::string dtype = entry["dtype"].get<std::string>();
  const DtypeInfo* info = find_dtype(dtype);
  if (info == nullptr) throw bad(fmt::format("unsupported dtype '{}'", dtype));
  t.dtype = info->dtype;

  uint64_t numel = 1;
  for (const json& d : entry["shape"]) {
    if (!d.is_number_unsigned()) throw bad(fmt::format("shape {} is not a list of non-negative integers", entry["shape"].dump()));
    t.shape.push_back(d.get<int64_t>());
    if (!mul(numel, d.get<uint64_t>(), numel)) throw bad(fmt::format("shape {} overflows", entry["shape"].dump()));
  }
  uint64_t nbytes = 0;
  if (!mul(numel, info->size, nbytes)) throw bad(fmt::format("shape {} overflows", entry["shape"].dump()));

  const json& offsets = entry["data_offsets"];
  if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
    throw bad(fmt::format("data_offsets {} are not non-negative integers", offsets.dump()));
  const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  if (begin > end || end > data_bytes)
    throw bad(fmt::format("data_offsets [{}, {}] are out of range: the data section has {} bytes", begin, end, data_bytes));
  if (end - begin != nbytes)
    throw bad(fmt::format("data_offsets [{}, {}] hold {} bytes, but {} of shape {} needs {}", begin, end, end - begin, dtype,
                          entry["shape"].dump(), nbytes));
  t.data = data_section + begin;
  t.nbytes = static_cast<size_t>(nbytes);
  return t;
}

}  // namespace

int64_t StTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// ---- one file --------------------------------------------------------------------------------------

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  TACHYON_REQUIRE(fd >= 0, "cannot open {}: {}", path, std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(fmt::format("{}: not a regular file", path));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ < 8) {
    ::close(fd);
    throw Error(fmt::format("{}: not a safetensors file ({} bytes, too short for the header length)", path, size_));
  }
  void* map = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);  // the mapping keeps the file
  TACHYON_REQUIRE(map != MAP_FAILED, "cannot map {}: {}", path, std::strerror(map_errno));
  map_ = map;

  try {
    const auto* bytes = static_cast<const uint8_t*>(map_);
    uint64_t header_len = 0;
    std::memcpy(&header_len, bytes, 8);
    TACHYON_REQUIRE(header_len <= size_ - 8,
                    "{}: not a safetensors file (header length {} exceeds the {} bytes that follow it)", path, header_len,
                    size_ - 8);
    const char* header_begin = reinterpret_cast<const char*>(bytes + 8);
    const json header = parse_header(header_begin, header_begin + header_len, path);
    const uint8_t* data_section = bytes + 8 + header_len;
    const uint64_t data_bytes = size_ - 8 - header_len;
    for (const auto& [key, value] : header.items()) {
      if (key == "__metadata__") {
        TACHYON_REQUIRE(value.is_object(), "{}: __metadata__ is not an object", path);
        for (const auto& [k, v] : value.items()) metadata_[k] = v.is_string() ? v.get<std::string>() : v.dump();
        continue;
      }
      tensors_.emplace(key, parse_entry(key, value, data_section, data_bytes, path));
    }
  } catch (...) {
    munmap(map_, size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) munmap(map_, size_);
}

// ---- a model directory -----------------------------------------------------------------------------

SafetensorsDir::SafetensorsDir(const std::string& dir) : dir_(dir) {
  std::error_code ec;
  TACHYON_REQUIRE(fs::is_directory(dir, ec), "{} is not a directory (expected a Hugging Face model directory)", dir);
  const fs::path root(dir);
  const fs::path index_path = root / "model.safetensors.index.json";

  std::vector<std::string> file_names;
  json weight_map;
  if (fs::exists(index_path, ec)) {
    json index;
    try {
      index = json::parse(read_text_file(index_path.string()));
    } catch (const json::exception& e) {
      throw Error(fmt::format("{}: not valid JSON: {}", index_path.string(), e.what()));
    }
    TACHYON_REQUIRE(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(),
                    "{}: no 'weight_map' object", index_path.string());
    weight_map = index["weight_map"];
    std::set<std::string> unique;
    for (const auto& [name, file] : weight_map.items()) {
      TACHYON_REQUIRE(file.is_string(), "{}: the weight_map entry of '{}' is not a file name", index_path.string(), name);
      unique.insert(file.get<std::string>());
    }
    file_names.assign(unique.begin(), unique.end());
  } else if (fs::exists(root / "model.safetensors", ec)) {
    file_names.push_back("model.safetensors");
  } else {
    for (const fs::directory_entry& e : fs::directory_iterator(root, ec))
      if (e.is_regular_file() && e.path().extension() == ".safetensors") file_names.push_back(e.path().filename().string());
    std::sort(file_names.begin(), file_names.end());
  }
  TACHYON_REQUIRE(!file_names.empty(),
                  "{}: no safetensors (expected model.safetensors.index.json, model.safetensors, or *.safetensors)", dir);

  for (const std::string& name : file_names) {
    const fs::path p = root / name;
    TACHYON_REQUIRE(fs::exists(p, ec), "{}: shard {} is missing (named by model.safetensors.index.json)", dir, name);
    files_.push_back(std::make_unique<SafetensorsFile>(p.string()));
    for (const auto& [tname, t] : files_.back()->tensors()) {
      const auto [it, inserted] = index_.emplace(tname, &t);
      TACHYON_REQUIRE(inserted, "{}: tensor '{}' appears in both {} and {}", dir, tname, it->second->file, t.file);
    }
  }
  // The index must agree with the shards: each listed tensor is in the file it names.
  for (const auto& [name, file] : weight_map.items()) {
    const auto it = index_.find(name);
    const std::string expected = (root / file.get<std::string>()).string();
    TACHYON_REQUIRE(it != index_.end() && it->second->file == expected,
                    "{}: model.safetensors.index.json puts tensor '{}' in {}, but that file does not have it", dir, name,
                    file.get<std::string>());
  }
}

bool SafetensorsDir::has(const std::string& name) const { return index_.count(name) != 0; }

const StTensor& SafetensorsDir::get(const std::string& name) const {
  const auto it = index_.find(name);
  TACHYON_REQUIRE(it != index_.end(), "tensor '{}' not found in {}", name, dir_);
  return *it->second;
}

std::vector<std::string> SafetensorsDir::names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (const auto& [name, t] : index_) out.push_back(name);
  return out;
}

std::vector<float> SafetensorsDir::read_f32(const std::string& name) const {
  const StTensor& t = get(name);
  const size_t n = static_cast<size_t>(t.numel());
  std::vector<float> out(n);
  // Views may be unaligned (offsets are arbitrary), hence memcpy per element.
  switch (t.dtype) {
    case StDtype::F32:
      if (n > 0) std::memcpy(out.data(), t.data, n * sizeof(float));
      break;
    case StDtype::F64:
      for (size_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, t.data + i * sizeof v, sizeof v);
        out[i] = static_cast<float>(v);
      }
      break;
    case StDtype::F16:
    case StDtype::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, t.data + i * sizeof v, sizeof v);
        out[i] = t.dtype == StDtype::F16 ? f16_to_float(v) : bf16_to_float(v);
      }
      break;
    default:
      throw Error(fmt::format("{}: tensor '{}' is {}; only F64, F32, F16 and BF16 read as floats", t.file, name,
                              dtype_info(t.dtype).name));
  }
  return out;
}

// ---- writing ---------------------------------------------------------------------------------------

void write_safetensors(const std::string& path, const std::vector<StTensorData>& tensors) {
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};  // what Hugging Face loaders expect of a PyTorch file
  uint64_t offset = 0;
  std::set<std::string> seen;
  for (const StTensorData& t : tensors) {
    TACHYON_REQUIRE(t.name != "__metadata__" && seen.insert(t.name).second, "{}: tensor name '{}' is used twice or reserved", path,
                    t.name);
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      TACHYON_REQUIRE(d >= 0, "{}: tensor '{}' has a negative dimension", path, t.name);
      numel *= static_cast<uint64_t>(d);
    }
    const DtypeInfo& info = dtype_info(t.dtype);
    TACHYON_REQUIRE(t.bytes.size() == numel * info.size, "{}: tensor '{}' ({} [{}]) has {} bytes, expected {}", path, t.name,
                    info.name, fmt::join(t.shape, ", "), t.bytes.size(), numel * info.size);
    header[t.name] = {{"dtype", info.name}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  const uint64_t header_len = text.size();

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  TACHYON_REQUIRE(out, "cannot create {}: {}", path, std::strerror(errno));
  out.write(reinterpret_cast<const char*>(&header_len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const StTensorData& t : tensors) out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
  out.close();
  TACHYON_REQUIRE(out, "cannot write {}: {}", path, std::strerror(errno));
}

}  // namespace tachyon
