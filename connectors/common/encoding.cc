#include "connectors/common/encoding.h"

#include <unicode/ucnv.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace tessera::connect {
namespace {

std::string Canonical(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c != '-' && c != '_')
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

struct ConverterCloser {
  void operator()(UConverter* c) const { ucnv_close(c); }
};
using ConverterPtr = std::unique_ptr<UConverter, ConverterCloser>;

ConverterPtr OpenConverter(const std::string& name) {
  UErrorCode err = U_ZERO_ERROR;
  ConverterPtr c(ucnv_open(name.c_str(), &err));
  if (U_FAILURE(err)) return nullptr;
  return c;
}

}  // namespace

bool IsUtf8Encoding(const std::string& name) { return Canonical(name) == "utf8"; }

absl::Status CheckEncoding(const std::string& name) {
  if (name.empty() || name.size() > 64 || !OpenConverter(name)) {
    return absl::InvalidArgumentError("unknown encoding '" + name.substr(0, 64) +
                                      "' (for example utf-8, latin1, windows-1252, utf-16)");
  }
  return absl::OkStatus();
}

// A streambuf that converts the file's bytes to UTF-8 one chunk at a time
// (ucnv_convertEx keeps characters split across chunks whole).
class Utf8Reader::Converter final : public std::streambuf {
 public:
  Converter(std::istream& in, ConverterPtr from, ConverterPtr to)
      : in_(in), from_(std::move(from)), to_(std::move(to)) {}

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    while (true) {
      if (src_pos_ == src_len_ && !eof_) {
        in_.read(src_, sizeof src_);
        src_len_ = static_cast<size_t>(in_.gcount());
        src_pos_ = 0;
        if (src_len_ == 0) eof_ = true;
      }
      char* target = out_;
      const char* source = src_ + src_pos_;
      UErrorCode err = U_ZERO_ERROR;
      ucnv_convertEx(to_.get(), from_.get(), &target, out_ + sizeof out_, &source, src_ + src_len_,
                     pivot_, &pivot_source_, &pivot_target_, pivot_ + kPivot, /*reset=*/first_,
                     /*flush=*/eof_, &err);
      first_ = false;
      src_pos_ = static_cast<size_t>(source - src_);
      if (err == U_BUFFER_OVERFLOW_ERROR) err = U_ZERO_ERROR;  // the rest comes next time
      if (U_FAILURE(err)) return traits_type::eof();
      if (target > out_) {
        setg(out_, out_, target);
        return traits_type::to_int_type(*gptr());
      }
      if (eof_ && src_pos_ == src_len_) return traits_type::eof();
    }
  }

 private:
  static constexpr size_t kPivot = 4096;
  std::istream& in_;
  ConverterPtr from_, to_;
  char src_[16384];
  size_t src_pos_ = 0, src_len_ = 0;
  bool eof_ = false, first_ = true;
  UChar pivot_[kPivot];
  UChar* pivot_source_ = pivot_;
  UChar* pivot_target_ = pivot_;
  char out_[65536];
};

absl::StatusOr<std::unique_ptr<Utf8Reader>> Utf8Reader::Open(const std::string& path,
                                                             const std::string& encoding) {
  if (absl::Status s = CheckEncoding(encoding); !s.ok()) return s;
  std::unique_ptr<Utf8Reader> r(new Utf8Reader());
  r->file_.open(path, std::ios::binary);
  if (!r->file_) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return absl::NotFoundError(path + ": no such file");
    return absl::PermissionDeniedError(path + ": cannot read");
  }
  char bom[3] = {0, 0, 0};
  r->file_.read(bom, 3);
  const bool utf8_bom =
      r->file_.gcount() == 3 && bom[0] == '\xEF' && bom[1] == '\xBB' && bom[2] == '\xBF';
  r->file_.clear();
  r->file_.seekg(0);
  r->encoding_ = utf8_bom ? "utf-8" : encoding;
  if (IsUtf8Encoding(r->encoding_)) {
    r->stream_ = &r->file_;
    return r;
  }
  ConverterPtr from = OpenConverter(r->encoding_), to = OpenConverter("utf-8");
  if (!from || !to)
    return absl::InternalError("ICU cannot open the converters for " + r->encoding_);
  r->converter_ = std::make_unique<Converter>(r->file_, std::move(from), std::move(to));
  r->owned_ = std::make_unique<std::istream>(r->converter_.get());
  r->stream_ = r->owned_.get();
  return r;
}

Utf8Reader::~Utf8Reader() = default;

}  // namespace tessera::connect
