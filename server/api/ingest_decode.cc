#include "server/api/ingest_decode.h"

#include <optional>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/support/byte_buffer.h"

namespace tessera::api {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

constexpr int kMaxDepth = 8;

// Why `bytes` is not a valid message of type `d`: the path of the first string field
// that is not UTF-8 ("attributes[1].value"), or of the part that is malformed. Walks
// the wire format without the UTF-8 check protobuf applies when parsing.
std::string Fault(const Descriptor& d, const std::string& bytes, const std::string& path,
                  int depth) {
  const std::string where = path.empty() ? "the message" : path;
  UnknownFieldSet fields;
  if (depth > kMaxDepth || !fields.ParseFromString(bytes))
    return where + " is malformed (not protobuf)";
  std::vector<int> seen(d.field_count(), 0);
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& u = fields.field(i);
    const FieldDescriptor* f = d.FindFieldByNumber(u.number());
    if (f == nullptr) continue;  // unknown fields are allowed
    std::string name = path.empty() ? f->name() : path + "." + f->name();
    if (f->is_repeated()) name += "[" + std::to_string(seen[f->index()]++) + "]";
    if (u.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const std::string& value = u.length_delimited();
    if (f->type() == FieldDescriptor::TYPE_STRING &&
        !google::protobuf::internal::IsStructurallyValidUTF8(value.data(),
                                                             static_cast<int>(value.size()))) {
      return name + " is not valid UTF-8";
    }
    if (f->type() == FieldDescriptor::TYPE_MESSAGE) {
      std::string inner = Fault(*f->message_type(), value, name, depth + 1);
      if (!inner.empty()) return inner;
    }
  }
  return "";  // the structure holds; the caller says the message is invalid
}

// The fragments' encoded bytes, in order; nullopt when the batch's own structure is
// broken.
std::optional<std::vector<std::string>> FragmentBytes(const std::string& bytes) {
  UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return std::nullopt;
  std::vector<std::string> out;
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& u = fields.field(i);
    if (u.number() == v1::IngestBatch::kFragmentsFieldNumber) {
      if (u.type() != UnknownField::TYPE_LENGTH_DELIMITED) return std::nullopt;
      out.push_back(u.length_delimited());
    }
  }
  return out;
}

// The fragment's external id, when it can be read and shown.
std::string ExternalIdOf(const std::string& fragment) {
  UnknownFieldSet fields;
  if (!fields.ParseFromString(fragment)) return "";
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& u = fields.field(i);
    if (u.number() != v1::Fragment::kExternalIdFieldNumber ||
        u.type() != UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    std::string id = u.length_delimited().substr(0, 80);
    if (!google::protobuf::internal::IsStructurallyValidUTF8(id.data(),
                                                             static_cast<int>(id.size())))
      return "";
    return id;
  }
  return "";
}

}  // namespace

absl::Status DecodeIngestBatch(const std::string& bytes, v1::IngestBatch* out, int* bad_fragment) {
  *bad_fragment = -1;
  if (out->ParseFromString(bytes)) return absl::OkStatus();
  out->Clear();
  std::optional<std::vector<std::string>> fragments = FragmentBytes(bytes);
  if (!fragments)
    return absl::InvalidArgumentError("the message cannot be decoded as an IngestBatch");
  for (size_t i = 0; i < fragments->size(); ++i) {
    v1::Fragment f;
    if (f.ParseFromString((*fragments)[i])) continue;
    *bad_fragment = static_cast<int>(i);
    std::string why = Fault(*v1::Fragment::descriptor(), (*fragments)[i], "", 0);
    if (why.empty()) why = "it is not a valid Fragment";
    if (std::string id = ExternalIdOf((*fragments)[i]); !id.empty())
      why += " (external id '" + id + "')";
    return absl::InvalidArgumentError("fragment " + std::to_string(i) + ": " + why +
                                      "; nothing of this batch was applied");
  }
  return absl::InvalidArgumentError("the message cannot be decoded as an IngestBatch");
}

absl::Status DecodeIngestBatch(const grpc::ByteBuffer& raw, v1::IngestBatch* out,
                               int* bad_fragment) {
  std::vector<grpc::Slice> slices;
  if (!raw.Dump(&slices).ok()) {
    *bad_fragment = -1;
    return absl::InvalidArgumentError("the message cannot be read");
  }
  std::string bytes;
  bytes.reserve(raw.Length());
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return DecodeIngestBatch(bytes, out, bad_fragment);
}

}  // namespace tessera::api
