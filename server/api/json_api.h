#pragma once

// The JSON API: the calls the web console makes, for the HTTP listener's /api/v1/
// face. `POST /api/v1/{Service}/{Method}` carries the request message in protobuf's
// canonical JSON mapping and gets the response message back the same way (protobuf's
// own JSON utilities). Each call runs the gRPC service's own code through its `Call`
// overload, so the gate, the visibility rules, the limits and the audit log are the
// ones gRPC uses. Errors are {"code": "NOT_FOUND", "message": "..."} with
// HttpStatusOf(code) (status.h). Nothing here knows HTTP beyond the status number.

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "server/api/admin_service.h"
#include "server/api/directory_service.h"
#include "server/api/expertise_service.h"

namespace tessera::api {

struct JsonReply {
  int status = 200;
  std::string body;  // a response message, or an error object
};

// Thread-safe; the services outlive it.
class JsonApi {
 public:
  // `max_request_bytes` bounds a request body, as gRPC's max_message_bytes does.
  JsonApi(DirectoryService& directory, ExpertiseService& expertise, AdminService& admin,
          size_t max_request_bytes);

  // `method` is "Directory/GetProfile"; an unknown one is NOT_FOUND.
  JsonReply Call(std::string_view method, const gate::Caller& caller, std::string_view body) const;

  bool Has(std::string_view method) const { return methods_.find(method) != methods_.end(); }

  // The error object for `s` (not OK).
  static JsonReply Error(const absl::Status& s);

 private:
  using Handler =
      std::function<absl::Status(const gate::Caller&, std::string_view body, std::string* out)>;
  std::map<std::string, Handler, std::less<>> methods_;
  const size_t max_request_bytes_;
};

}  // namespace tessera::api
