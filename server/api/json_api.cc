#include "server/api/json_api.h"

#include "absl/status/statusor.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace tessera::api {
namespace {

// A request in canonical JSON; unknown fields are errors (a typo must not pass as
// an empty field), and the parser's message names what was wrong.
template <typename Request>
absl::Status Parse(std::string_view body, Request* req) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return absl::OkStatus();  // {} by another name
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto s = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), req, options);
  if (!s.ok()) {
    return absl::InvalidArgumentError("the request is not a " + Request::descriptor()->full_name() +
                                      " in JSON: " + std::string(s.message()));
  }
  return absl::OkStatus();
}

absl::Status Print(const google::protobuf::Message& resp, std::string* out) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;  // a load of 0 is said, not left out
  const auto s = google::protobuf::util::MessageToJsonString(resp, out, options);
  if (!s.ok())
    return absl::InternalError("cannot write the answer as JSON: " + std::string(s.message()));
  return absl::OkStatus();
}

// One method: parse, call the service (gate, rules, audit), print.
template <typename Request, typename Response, typename Service>
auto Route(Service& service) {
  return [&service](const gate::Caller& caller, std::string_view body,
                    std::string* out) -> absl::Status {
    Request req;
    if (absl::Status s = Parse(body, &req); !s.ok()) return s;
    Response resp;
    if (absl::Status s = service.Call(caller, req, &resp); !s.ok()) return s;
    return Print(resp, out);
  };
}

}  // namespace

JsonApi::JsonApi(DirectoryService& directory, ExpertiseService& expertise, AdminService& admin,
                 size_t max_request_bytes)
    : max_request_bytes_(max_request_bytes) {
  methods_["Directory/GetProfile"] = Route<v1::GetProfileRequest, v1::Profile>(directory);
  methods_["Directory/SearchPeople"] =
      Route<v1::SearchPeopleRequest, v1::SearchPeopleResponse>(directory);
  methods_["Directory/Neighbors"] = Route<v1::NeighborsRequest, v1::NeighborsResponse>(directory);
  methods_["Directory/CustomerHistory"] =
      Route<v1::CustomerHistoryRequest, v1::CustomerHistoryResponse>(directory);
  methods_["Expertise/FindExperts"] =
      Route<v1::FindExpertsRequest, v1::FindExpertsResponse>(expertise);
  methods_["Expertise/RecordOutcome"] =
      Route<v1::RecordOutcomeRequest, v1::RecordOutcomeResponse>(expertise);
  methods_["Admin/ListSources"] = Route<v1::ListSourcesRequest, v1::ListSourcesResponse>(admin);
  methods_["Admin/ListRules"] = Route<v1::ListRulesRequest, v1::ListRulesResponse>(admin);
}

JsonReply JsonApi::Error(const absl::Status& s) {
  JsonReply r;
  r.status = HttpStatusOf(s.code());
  r.body = nlohmann::json{{"code", absl::StatusCodeToString(s.code())},
                          {"message", std::string(s.message())}}
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

JsonReply JsonApi::Call(std::string_view method, const gate::Caller& caller,
                        std::string_view body) const {
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    std::string known;
    for (const auto& [name, handler] : methods_) known += (known.empty() ? "" : ", ") + name;
    return Error(absl::NotFoundError("no JSON API method '" + std::string(method) +
                                     "'; there are " + known));
  }
  if (body.size() > max_request_bytes_) {
    return Error(absl::ResourceExhaustedError(
        "request of " + std::to_string(body.size()) + " bytes, over the " +
        std::to_string(max_request_bytes_) + " allowed (max_message_bytes)"));
  }
  JsonReply reply;
  if (absl::Status s = it->second(caller, body, &reply.body); !s.ok()) return Error(s);
  return reply;
}

}  // namespace tessera::api
