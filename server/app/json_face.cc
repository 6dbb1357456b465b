#include "server/app/json_face.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>

#include "nlohmann/json.hpp"

namespace tessera::app {
namespace {

constexpr char kPrefix[] = "/api/v1/";
constexpr char kCookie[] = "tessera_session";

void Send(http::Response& res, const api::JsonReply& reply) {
  res.status = reply.status;
  res.content_type = "application/json; charset=utf-8";
  res.body = reply.body;
  if (reply.status == 401) res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tessera\"");
}

api::JsonReply Refuse(int http_status, const absl::Status& s) {
  api::JsonReply r = api::JsonApi::Error(s);
  r.status = http_status;
  return r;
}

bool IsJson(const std::string& content_type) {
  std::string media = content_type.substr(0, content_type.find(';'));
  media.erase(
      std::remove_if(media.begin(), media.end(), [](unsigned char c) { return std::isspace(c); }),
      media.end());
  std::transform(media.begin(), media.end(), media.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return media == "application/json";
}

std::string SessionCookie(const std::string& value, bool tls, bool clear) {
  std::string c = std::string(kCookie) + "=" + value + "; Path=/; HttpOnly; SameSite=Strict";
  if (tls) c += "; Secure";
  if (clear) c += "; Max-Age=0";
  return c;
}

nlohmann::json Describe(const http::Session& s) {
  return {{"principal", s.principal}, {"roles", s.roles}, {"csrfToken", s.csrf}};
}

const absl::Status kSessionEnded = absl::UnauthenticatedError(
    "the session has ended (signed out, idle too long or too old): sign in again");
const absl::Status kNotSignedIn =
    absl::UnauthenticatedError("not signed in: sign in with your token or certificate");

// Whether the CSRF token sent is the session's (in constant time).
bool SameToken(const std::string& sent, const std::string& expected) {
  return sent.size() == expected.size() &&
         CRYPTO_memcmp(sent.data(), expected.data(), sent.size()) == 0;
}

// "Directory/GetProfile" -> "Directory.GetProfile", the gate's name of the method.
std::string GateMethod(const std::string& json_method) {
  std::string m = json_method;
  std::replace(m.begin(), m.end(), '/', '.');
  return m;
}

}  // namespace

JsonFace::JsonFace(http::Listener& listener, http::SessionOptions sessions,
                   std::function<int64_t()> now_ms)
    : sessions_(sessions, std::move(now_ms)) {
  listener.Route(kPrefix, [this](const http::Request& req, http::Response& res) {
    Serve(req, res);
    // JSON for a script or the console's code only: never cached, never framed,
    // never sniffed into something else.
    res.headers.emplace_back("Cache-Control", "no-store");
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    res.headers.emplace_back("Referrer-Policy", "no-referrer");
    res.headers.emplace_back("Content-Security-Policy",
                             "default-src 'none'; frame-ancestors 'none'");
  });
}

void JsonFace::SessionCall(const api::Gate& gate, const http::Request& req, http::Response& res) {
  const std::string id = http::CookieValue(req.Header("cookie"), kCookie);
  if (req.method == "GET") {
    if (id.empty()) return Send(res, api::JsonApi::Error(kNotSignedIn));
    std::optional<http::Session> s = sessions_.Touch(id);
    if (!s) return Send(res, api::JsonApi::Error(kSessionEnded));
    return Send(res, {200, Describe(*s).dump()});
  }
  if (req.method == "DELETE") {
    std::optional<http::Session> s = id.empty() ? std::nullopt : sessions_.Touch(id);
    if (s && !SameToken(req.Header("x-csrf-token"), s->csrf)) {
      return Send(
          res,
          Refuse(403, absl::PermissionDeniedError("sign-out needs the session's X-CSRF-Token")));
    }
    if (s) sessions_.Close(id);
    res.headers.emplace_back("Set-Cookie", SessionCookie("", req.tls, true));
    res.status = 204;
    return;
  }
  if (req.method != "POST") {
    res.headers.emplace_back("Allow", "GET, POST, DELETE");
    return Send(
        res,
        Refuse(405, absl::InvalidArgumentError("/api/v1/session answers GET, POST and DELETE")));
  }
  if (!IsJson(req.Header("content-type"))) {
    return Send(
        res,
        Refuse(415, absl::InvalidArgumentError("send {\"token\": \"...\"} as application/json")));
  }
  const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || (body.contains("token") && !body["token"].is_string())) {
    return Send(res, Refuse(400, absl::InvalidArgumentError(
                                     "send {\"token\": \"...\"}: the token tesserad "
                                     "--new-token printed, or no token with a client "
                                     "certificate")));
  }
  const std::string token = body.value("token", "");
  if (token.size() > 1024)
    return Send(res, Refuse(400, absl::InvalidArgumentError("the token is over 1024 bytes")));
  gate::Caller caller = req.caller;
  caller.authorization.reset();
  if (!token.empty()) caller.authorization = "Bearer " + token;
  gate::CallLog log("Console.SignIn", caller);
  absl::StatusOr<const access::Principal*> who = gate.Admit(log);
  if (absl::Status s = log.Finish(who.status()); !s.ok()) return Send(res, api::JsonApi::Error(s));
  http::Session s;
  s.authorization = caller.authorization;
  s.certificate_names = caller.certificate_names;
  if (*who != nullptr) {
    s.principal = (*who)->name;
    for (int r = 0; r < access::kRoleCount; ++r) {
      if ((*who)->Has(static_cast<access::Role>(r)))
        s.roles.emplace_back(access::RoleName(static_cast<access::Role>(r)));
    }
  } else {
    s.roles = {"reader", "agent", "admin", "auditor"};  // authentication is off: everything is open
  }
  s = sessions_.Open(std::move(s));
  res.headers.emplace_back("Set-Cookie", SessionCookie(s.id, req.tls, false));
  Send(res, {200, Describe(s).dump()});
}

void JsonFace::Serve(const http::Request& req, http::Response& res) {
  const std::string method = req.path.substr(sizeof kPrefix - 1);
  res.route = kPrefix;  // the method is added once known: labels stay few
  const api::JsonApi* api = api_.load(std::memory_order_acquire);
  const api::Gate* gate = gate_.load(std::memory_order_acquire);
  if (api == nullptr || gate == nullptr) {
    Send(res, api::JsonApi::Error(absl::UnavailableError(
                  "not ready: the database is opening (or the server is stopping)")));
    res.headers.emplace_back("Retry-After", "5");
    return;
  }
  if (method == "session") {
    res.route += method;
    return SessionCall(*gate, req, res);
  }
  if (req.method != "POST") {
    res.headers.emplace_back("Allow", "POST");
    return Send(res,
                Refuse(405, absl::InvalidArgumentError(
                                "the JSON API answers POST with the request message as JSON, not " +
                                req.method)));
  }
  if (!IsJson(req.Header("content-type"))) {
    return Send(res, Refuse(415, absl::InvalidArgumentError(
                                     "send the request with Content-Type: application/json (got '" +
                                     req.Header("content-type") + "')")));
  }
  gate::Caller caller = req.caller;
  const std::string id = http::CookieValue(req.Header("cookie"), kCookie);
  if (!caller.authorization && !id.empty()) {
    // The console: its session's credentials, once the page proves it is the page.
    std::optional<http::Session> s = sessions_.Touch(id);
    if (!s) return Send(res, api::JsonApi::Error(kSessionEnded));
    caller.authorization = s->authorization;
    caller.certificate_names = s->certificate_names;
    if (!SameToken(req.Header("x-csrf-token"), s->csrf)) {
      // Refused like a call without the role: through the gate's log, so the attempt
      // (perhaps another site's, riding the cookie) is in the audit log and metrics.
      const std::string gate_method =
          api->Has(method) ? GateMethod(method) : "Console.Call";  // outlives log
      gate::CallLog log(gate_method, caller);
      absl::StatusOr<const access::Principal*> who = gate->Admit(log);
      const absl::Status refusal = log.Finish(
          !who.ok() ? who.status()
                    : absl::PermissionDeniedError(
                          "a call with the session cookie must carry the session's X-CSRF-Token"));
      return Send(res, api::JsonApi::Error(refusal));
    }
  }
  if (api->Has(method)) res.route += method;
  Send(res, api->Call(method, caller, req.body));
}

}  // namespace tessera::app
