#include "server/api/gate.h"

#include <algorithm>
#include <set>
#include <string>

namespace tessera::api {

gate::Caller CallerOf(const grpc::ServerContextBase* ctx) {
  gate::Caller c;
  c.transport = "grpc";
  if (ctx == nullptr) return c;
  c.peer = ctx->peer();
  const auto& metadata = ctx->client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    c.authorization = std::string(it->second.data(), it->second.size());
  }
  if (auto it = metadata.find(kReasonHeader); it != metadata.end()) {
    c.reason = std::string(it->second.data(), it->second.size());
  }
  if (auto it = metadata.find(gate::kMinPositionHeader); it != metadata.end()) {
    c.min_position = std::string(it->second.data(), it->second.size());
  }
  if (const std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
      auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const grpc::string_ref& cn : auth->FindPropertyValues("x509_common_name")) {
      c.certificate_names.emplace_back(cn.data(), cn.size());
    }
  }
  return c;
}

namespace {

bool Has(const std::vector<std::string>& fields, const std::string& f) {
  return std::find(fields.begin(), fields.end(), f) != fields.end();
}

// Removes the elements of a repeated field that `drop` selects; true if any.
template <typename Repeated, typename Drop>
bool RemoveIf(Repeated* r, Drop drop) {
  const int before = r->size();
  r->erase(std::remove_if(r->begin(), r->end(), drop), r->end());
  return r->size() != before;
}

}  // namespace

void Redact(const std::vector<std::string>& fields, v1::Profile* p) {
  if (fields.empty()) return;
  std::set<std::string> withheld;
  RemoveIf(p->mutable_attributes(), [&](const v1::ProfileAttribute& a) {
    if (!Has(fields, a.name())) return false;
    withheld.insert(a.name());
    return true;
  });
  RemoveIf(p->mutable_identifiers(), [&](const v1::ProfileIdentifier& i) {
    if (!Has(fields, i.type())) return false;
    withheld.insert(i.type());
    return true;
  });
  for (v1::Conflict& c : *p->mutable_conflicts()) {
    if (Has(fields, c.type())) c.clear_values(), withheld.insert(c.type());
    if (Has(fields, c.via().type()))
      c.mutable_via()->clear_value(), withheld.insert(c.via().type());
  }
  for (const std::string& f : withheld) p->add_redacted(f);
}

void Redact(const std::vector<std::string>& fields, v1::ProfileSummary* s) {
  if (Has(fields, "email")) s->clear_email();
}

}  // namespace tessera::api
