// Safetensors (model/safetensors.h): writing and reading back every dtype, model directories (single
// file, sharded with an index, several files without one), damaged headers, and read_f32.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/bf16.h"
#include "model/error.h"
#include "model/safetensors.h"

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

// A unique directory under the temp directory, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() / fmt::format("tachyon-st-{}-{}", getpid(), counter++);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string str() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

StTensorData f32_tensor(const std::string& name, std::vector<int64_t> shape, float first) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = first + static_cast<float>(i);
  return {name, StDtype::F32, std::move(shape), bytes_of(v)};
}

// Writes a file from a hand-made header, to make the damaged files the reader must refuse.
void write_raw(const std::string& path, const std::string& header, const std::vector<uint8_t>& data, int64_t header_len = -1) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t len = header_len < 0 ? header.size() : static_cast<uint64_t>(header_len);
  out.write(reinterpret_cast<const char*>(&len), 8);
  out << header;
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

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

void write_index(const std::string& path, const nlohmann::json& weight_map) {
  std::ofstream(path) << nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump(2);
}

}  // namespace

TEST_CASE("safetensors: every dtype round-trips through write_safetensors") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  std::vector<StTensorData> tensors = {
      {"f64", StDtype::F64, {2}, bytes_of(std::vector<double>{1.5, -2.25})},
      {"f32", StDtype::F32, {2, 3}, bytes_of(std::vector<float>{1, 2, 3, 4, 5, 6})},
      {"f16", StDtype::F16, {3}, bytes_of(std::vector<uint16_t>{0x3c00, 0xc000, 0x7bff})},
      {"bf16", StDtype::BF16, {1, 2}, bytes_of(std::vector<uint16_t>{0x3f80, 0xbfc0})},
      {"f8", StDtype::F8_E4M3, {4}, {0x38, 0xb8, 0x7e, 0x00}},
      {"i64", StDtype::I64, {1}, bytes_of(std::vector<int64_t>{-5})},
      {"i32", StDtype::I32, {2}, bytes_of(std::vector<int32_t>{7, -7})},
      {"i16", StDtype::I16, {1}, bytes_of(std::vector<int16_t>{-300})},
      {"i8", StDtype::I8, {1}, {0x80}},
      {"u8", StDtype::U8, {3}, {1, 2, 3}},
      {"bool", StDtype::BOOL, {2}, {0, 1}},
      {"scalar", StDtype::F32, {}, bytes_of(std::vector<float>{42})},
      {"empty", StDtype::F32, {0, 3}, {}},
  };
  write_safetensors(path, tensors);

  // The data section starts 8-byte aligned.
  std::ifstream in(path, std::ios::binary);
  uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 8);
  CHECK((8 + header_len) % 8 == 0);

  SafetensorsFile f(path);
  REQUIRE(f.tensors().size() == tensors.size());
  for (const StTensorData& t : tensors) {
    CAPTURE(t.name);
    REQUIRE(f.tensors().count(t.name) == 1);
    const StTensor& got = f.tensors().at(t.name);
    CHECK(got.name == t.name);
    CHECK(got.dtype == t.dtype);
    CHECK(got.shape == t.shape);
    CHECK(got.file == path);
    CHECK(got.nbytes == t.bytes.size());
    CHECK(std::vector<uint8_t>(got.data, got.data + got.nbytes) == t.bytes);
  }
  CHECK(f.tensors().at("scalar").numel() == 1);
  CHECK(f.tensors().at("empty").numel() == 0);
  CHECK(f.tensors().at("f32").numel() == 6);
  CHECK(f.metadata().at("format") == "pt");
}

TEST_CASE("safetensors: write_safetensors refuses inconsistent input") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  std::string msg = error_of([&] { write_safetensors(path, {{"w", StDtype::F32, {2, 2}, std::vector<uint8_t>(15)}}); });
  CHECK(contains(msg, path));
  CHECK(contains(msg, "'w'"));
  msg = error_of([&] { write_safetensors(path, {f32_tensor("w", {1}, 0), f32_tensor("w", {1}, 0)}); });
  CHECK(contains(msg, "'w'"));
}

TEST_CASE("safetensors: a directory with one model.safetensors") {
  TempDir dir;
  write_safetensors(dir.file("model.safetensors"), {f32_tensor("b", {2}, 10), f32_tensor("a", {2, 2}, 0)});
  // With model.safetensors present, stray files are not part of the model.
  write_safetensors(dir.file("optimizer.safetensors"), {f32_tensor("a", {1}, 0)});
  SafetensorsDir d(dir.str());
  CHECK(d.names() == std::vector<std::string>{"a", "b"});
  CHECK(d.has("a"));
  CHECK_FALSE(d.has("c"));
  CHECK(d.get("b").file == dir.file("model.safetensors"));
  CHECK(d.read_f32("a") == std::vector<float>{0, 1, 2, 3});
  const std::string msg = error_of([&] { d.get("c"); });
  CHECK(contains(msg, "'c'"));
  CHECK(contains(msg, dir.str()));
}

TEST_CASE("safetensors: a sharded directory with model.safetensors.index.json") {
  TempDir dir;
  write_safetensors(dir.file("model-00001-of-00002.safetensors"), {f32_tensor("layers.0.w", {2}, 0), f32_tensor("embed", {3}, 5)});
  write_safetensors(dir.file("model-00002-of-00002.safetensors"), {f32_tensor("layers.1.w", {2}, 20)});
  const nlohmann::json map = {{"layers.0.w", "model-00001-of-00002.safetensors"},
                              {"embed", "model-00001-of-00002.safetensors"},
                              {"layers.1.w", "model-00002-of-00002.safetensors"}};

  SUBCASE("consistent") {
    write_index(dir.file("model.safetensors.index.json"), map);
    SafetensorsDir d(dir.str());
    CHECK(d.names() == std::vector<std::string>{"embed", "layers.0.w", "layers.1.w"});
    CHECK(d.get("layers.1.w").file == dir.file("model-00002-of-00002.safetensors"));
    CHECK(d.read_f32("layers.1.w") == std::vector<float>{20, 21});
    CHECK(d.read_f32("embed") == std::vector<float>{5, 6, 7});
  }
  SUBCASE("the index puts a tensor in the wrong shard") {
    nlohmann::json wrong = map;
    wrong["embed"] = "model-00002-of-00002.safetensors";
    write_index(dir.file("model.safetensors.index.json"), wrong);
    const std::string msg = error_of([&] { SafetensorsDir d(dir.str()); });
    CHECK(contains(msg, dir.str()));
    CHECK(contains(msg, "'embed'"));
  }
  SUBCASE("the index names a missing shard") {
    nlohmann::json missing = map;
    missing["extra"] = "model-00003-of-00003.safetensors";
    write_index(dir.file("model.safetensors.index.json"), missing);
    const std::string msg = error_of([&] { SafetensorsDir d(dir.str()); });
    CHECK(contains(msg, "model-00003-of-00003.safetensors"));
  }
  SUBCASE("an index without weight_map") {
    std::ofstream(dir.file("model.safetensors.index.json")) << R"({"metadata": {}})";
    const std::string msg = error_of([&] { SafetensorsDir d(dir.str()); });
    CHECK(contains(msg, "model.safetensors.index.json"));
    CHECK(contains(msg, "weight_map"));
  }
  SUBCASE("an index that is not JSON") {
    std::ofstream(dir.file("model.safetensors.index.json")) << "{\"weight_map\": ";
    const std::string msg = error_of([&] { SafetensorsDir d(dir.str()); });
    CHECK(contains(msg, "model.safetensors.index.json"));
  }
}

TEST_CASE("safetensors: several files without an index") {
  TempDir dir;
  write_safetensors(dir.file("a.safetensors"), {f32_tensor("x", {1}, 1)});
  write_safetensors(dir.file("b.safetensors"), {f32_tensor("y", {1}, 2)});
  std::ofstream(dir.file("README.md")) << "not a tensor file";

  SUBCASE("distinct names") {
    SafetensorsDir d(dir.str());
    CHECK(d.names() == std::vector<std::string>{"x", "y"});
    CHECK(d.get("y").file == dir.file("b.safetensors"));
  }
  SUBCASE("a name in two files") {
    write_safetensors(dir.file("c.safetensors"), {f32_tensor("x", {1}, 3)});
    const std::string msg = error_of([&] { SafetensorsDir d(dir.str()); });
    CHECK(contains(msg, "'x'"));
    CHECK(contains(msg, dir.file("a.safetensors")));
    CHECK(contains(msg, dir.file("c.safetensors")));
  }
}

TEST_CASE("safetensors: directories without safetensors") {
  TempDir dir;
  std::ofstream(dir.file("config.json")) << "{}";
  std::string msg = error_of([&] { SafetensorsDir d(dir.str()); });
  CHECK(contains(msg, dir.str()));
  CHECK(contains(msg, "no safetensors"));
  msg = error_of([&] { SafetensorsDir d(dir.file("config.json")); });
  CHECK(contains(msg, "not a directory"));
  msg = error_of([&] { SafetensorsDir d(dir.file("missing")); });
  CHECK(contains(msg, dir.file("missing")));
}

TEST_CASE("safetensors: damaged files are refused, naming the file and the tensor") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  const std::vector<uint8_t> data(16, 0);
  struct Case {
    const char* what;
    std::string header;
    std::vector<uint8_t> data;
    int64_t header_len;
    const char* tensor;  // "" when no tensor is to blame
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"shorter than the length field", "", {}, -2, "", "too short"},
      {"header length beyond the file", R"({})", data, 1000, "", "header length 1000"},
      {"header not JSON", R"({"w": {"dtype": "F32", )", data, -1, "", "not valid JSON"},
      {"header not an object", R"([1, 2])", data, -1, "", "not a JSON object"},
      {"offsets past the end", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})", data, -1, "w", "out of range"},
      {"offsets reversed", R"({"w": {"dtype": "U8", "shape": [0], "data_offsets": [8, 4]}})", data, -1, "w", "out of range"},
      {"size disagrees with dtype and shape", R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}})", data, -1, "w",
       "needs 12"},
      {"unknown dtype", R"({"w": {"dtype": "F8_E5M2", "shape": [4], "data_offsets": [0, 4]}})", data, -1, "w", "F8_E5M2"},
      {"missing dtype", R"({"w": {"shape": [4], "data_offsets": [0, 4]}})", data, -1, "w", "dtype"},
      {"negative dim", R"({"w": {"dtype": "U8", "shape": [-4], "data_offsets": [0, 4]}})", data, -1, "w", "shape"},
      {"overflowing shape", R"({"w": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}})", data, -1,
       "w", "overflows"},
      {"one offset", R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [0]}})", data, -1, "w", "data_offsets"},
      {"a name twice", R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, "w": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}})",
       data, -1, "w", "twice"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    if (c.header_len == -2) {
      std::ofstream(path, std::ios::binary) << "1234";
    } else {
      write_raw(path, c.header, c.data, c.header_len);
    }
    const std::string msg = error_of([&] { SafetensorsFile f(path); });
    CHECK(contains(msg, path));
    if (c.tensor[0] != '\0') CHECK(contains(msg, std::string("'") + c.tensor + "'"));
    CHECK(contains(msg, c.expect));
  }
  const std::string missing = dir.file("missing.safetensors");
  CHECK(contains(error_of([&] { SafetensorsFile f(missing); }), missing));

  // A valid hand-made file with an unpadded header and __metadata__ reads fine.
  write_raw(path, R"({"__metadata__": {"format": "pt", "n": 3}, "w": {"dtype": "U8", "shape": [2, 2], "data_offsets": [12, 16]}})", data);
  SafetensorsFile f(path);
  CHECK(f.tensors().at("w").nbytes == 4);
  CHECK(f.metadata().at("format") == "pt");
  CHECK(f.metadata().at("n") == "3");
}

TEST_CASE("safetensors: read_f32 converts F64, F32, F16 and BF16, from unaligned offsets too") {
  TempDir dir;
  const std::vector<float> values = {1.0f, -2.5f, 0.15625f, 61440.0f, 0.0f, -0.0f};
  std::vector<double> f64(values.begin(), values.end());
  std::vector<uint16_t> f16 = {0x3c00, 0xc100, 0x3100, 0x7b80, 0x0000, 0x8000};  // the same values in IEEE half
  std::vector<uint16_t> bf16;
  for (float v : values) bf16.push_back(float_to_bf16(v));
  write_safetensors(dir.file("model.safetensors"),
                    {
                        {"pad", StDtype::U8, {3}, {9, 9, 9}},  // puts every following tensor at an odd offset
                        {"f64", StDtype::F64, {2, 3}, bytes_of(f64)},
                        {"f32", StDtype::F32, {6}, bytes_of(values)},
                        {"f16", StDtype::F16, {6}, bytes_of(f16)},
                        {"bf16", StDtype::BF16, {3, 2}, bytes_of(bf16)},
                        {"subnormal_f16", StDtype::F16, {1}, bytes_of(std::vector<uint16_t>{0x0001})},
                        {"i32", StDtype::I32, {1}, bytes_of(std::vector<int32_t>{3})},
                    });
  SafetensorsDir d(dir.str());
  CHECK(reinterpret_cast<uintptr_t>(d.get("f32").data) % 4 != 0);
  for (const std::string name : {"f64", "f32", "f16", "bf16"}) {
    CAPTURE(name);
    const std::vector<float> got = d.read_f32(name);
    REQUIRE(got.size() == values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      CHECK(got[i] == values[i]);
      CHECK(std::signbit(got[i]) == std::signbit(values[i]));
    }
  }
  CHECK(d.read_f32("subnormal_f16") == std::vector<float>{std::ldexp(1.0f, -24)});
  const std::string msg = error_of([&] { d.read_f32("i32"); });
  CHECK(contains(msg, "'i32'"));
  CHECK(contains(msg, "I32"));
  CHECK(contains(msg, dir.file("model.safetensors")));
}
