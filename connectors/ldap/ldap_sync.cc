// Content synchronisation, refreshOnly (RFC 4533): the Sync Request control is built
// with ber_printf and the answer read one message at a time. OpenLDAP's ldap_sync_*
// helpers are not used: in 2.5 they hand the first message of a received chain to
// every callback and ignore the callbacks' errors.

#include "connectors/ldap/ldap_session.h"
#include "connectors/ldap/ldap_util.h"

namespace tessera::connect {
namespace {

using ldap_internal::AttributeList;
using ldap_internal::Ber;
using ldap_internal::Controls;
using ldap_internal::DescribeCall;
using ldap_internal::Msg;
using ldap_internal::ParseDone;
using ldap_internal::ScopeOf;
using ldap_internal::StatusOf;
using ldap_internal::ToEntry;
using ldap_internal::Tv;

// The optional cookie at the reader's position (RFC 4533's syncCookie, tag 0x04).
bool ScanCookie(BerElement* ber, std::string* cookie) {
  ber_len_t len = 0;
  if (ber_peek_tag(ber, &len) != LDAP_TAG_SYNC_COOKIE) return true;
  berval bv{};
  if (ber_scanf(ber, "m", &bv) == LBER_ERROR) return false;
  if (bv.bv_len > 0) cookie->assign(bv.bv_val, bv.bv_len);
  return true;
}

// The optional BOOLEAN at the reader's position (refreshDone, refreshDeletes).
bool ScanFlag(BerElement* ber, bool* flag) {
  ber_len_t len = 0;
  if (ber_peek_tag(ber, &len) != LBER_BOOLEAN) return true;
  ber_int_t b = 0;
  if (ber_scanf(ber, "b", &b) == LBER_ERROR) return false;
  *flag = b != 0;
  return true;
}

// A search result entry with its Sync State control.
// Malformed messages are errors prefixed with `where`; the handler's errors pass as they are.
absl::Status OnSyncEntry(LDAP* ld, LDAPMessage* msg, const std::string& where, SyncHandler& handler,
                         SyncOutcome* out) {
  LDAPControl** raw = nullptr;
  ldap_get_entry_controls(ld, msg, &raw);
  Controls ctrls(raw);
  LDAPControl* state = ldap_control_find(LDAP_CONTROL_SYNC_STATE, raw, nullptr);
  absl::StatusOr<LdapEntry> entry = ToEntry(ld, msg);
  if (!entry.ok()) return absl::DataLossError(where + ": " + std::string(entry.status().message()));
  const std::string bad = where + ": entry '" + entry->dn + "' has a malformed Sync State control";
  if (state == nullptr) {
    return absl::DataLossError(where + ": entry '" + entry->dn + "' has no Sync State control");
  }
  Ber ber(ber_init(&state->ldctl_value));
  if (!ber) return absl::ResourceExhaustedError("out of memory");
  ber_int_t st = -1;
  berval uuid{};
  if (ber_scanf(ber.get(), "{em", &st, &uuid) == LBER_ERROR || uuid.bv_len != 16 ||
      !ScanCookie(ber.get(), &out->cookie)) {
    return absl::DataLossError(bad);
  }
  SyncHandler::Change change;
  switch (st) {
    case LDAP_SYNC_PRESENT:
      change = SyncHandler::Change::kPresent;
      break;
    case LDAP_SYNC_ADD:
      change = SyncHandler::Change::kAdd;
      break;
    case LDAP_SYNC_MODIFY:
      change = SyncHandler::Change::kModify;
      break;
    case LDAP_SYNC_DELETE:
      change = SyncHandler::Change::kDelete;
      break;
    default:
      return absl::DataLossError(bad);
  }
  return handler.OnEntry(change, std::string_view(uuid.bv_val, uuid.bv_len), *std::move(entry));
}

// A Sync Info intermediate response: a new cookie, the end of a phase, or an ID set.
absl::Status OnSyncInfo(LDAP* ld, LDAPMessage* msg, const std::string& where, SyncHandler& handler,
                        SyncOutcome* out) {
  char* oid = nullptr;
  berval* data = nullptr;
  const int rc = ldap_parse_intermediate(ld, msg, &oid, &data, nullptr, 0);
  const bool sync_info =
      rc == LDAP_SUCCESS && oid != nullptr && std::string_view(oid) == LDAP_SYNC_INFO;
  if (oid != nullptr) ldap_memfree(oid);
  std::unique_ptr<berval, void (*)(berval*)> value(data, [](berval* b) { ber_bvfree(b); });
  if (!sync_info || !value) return absl::OkStatus();  // someone else's intermediate response
  const auto bad = [&where] {
    return absl::DataLossError(where + ": malformed Sync Info message");
  };
  Ber ber(ber_init(value.get()));
  if (!ber) return absl::ResourceExhaustedError("out of memory");
  ber_len_t len = 0;
  const ber_tag_t tag = ber_peek_tag(ber.get(), &len);
  if (tag == LDAP_TAG_SYNC_NEW_COOKIE) {
    berval bv{};
    if (ber_scanf(ber.get(), "m", &bv) == LBER_ERROR) return bad();
    out->cookie.assign(bv.bv_val, bv.bv_len);
    return absl::OkStatus();
  }
  if (tag == LDAP_TAG_SYNC_REFRESH_PRESENT || tag == LDAP_TAG_SYNC_REFRESH_DELETE) {
    bool done = true;
    if (ber_scanf(ber.get(), "{") == LBER_ERROR || !ScanCookie(ber.get(), &out->cookie) ||
        !ScanFlag(ber.get(), &done)) {
      return bad();
    }
    // The end of a present phase: what was not listed in it is gone.
    if (tag == LDAP_TAG_SYNC_REFRESH_PRESENT) out->present_phase = true;
    return absl::OkStatus();
  }
  if (tag != LDAP_TAG_SYNC_ID_SET) return bad();
  bool deletes = false;
  BerVarray ids = nullptr;
  if (ber_scanf(ber.get(), "{") == LBER_ERROR || !ScanCookie(ber.get(), &out->cookie) ||
      !ScanFlag(ber.get(), &deletes) || ber_scanf(ber.get(), "[W]", &ids) == LBER_ERROR) {
    return bad();
  }
  std::vector<std::string> uuids;
  for (BerVarray id = ids; id != nullptr && id->bv_val != nullptr; ++id) {
    uuids.emplace_back(id->bv_val, id->bv_len);
  }
  ber_bvarray_free(ids);
  return handler.OnIdSet(deletes, uuids);
}

}  // namespace

absl::StatusOr<SyncOutcome> LdapSession::SyncRefresh(const std::string& cookie,
                                                     const std::vector<std::string>& attributes,
                                                     SyncHandler& handler) {
  const std::string where =
      options_.uri + ": search of '" + options_.base_dn + "' (content synchronisation)";
  // syncRequestValue ::= SEQUENCE { mode ENUMERATED, cookie OCTET STRING OPTIONAL,
  // reloadHint BOOLEAN DEFAULT FALSE } (RFC 4533 section 2.2); DER leaves the default out.
  Ber request(ber_alloc_t(LBER_USE_DER));
  if (!request) return absl::ResourceExhaustedError("out of memory");
  berval cookie_value{cookie.size(), const_cast<char*>(cookie.data())};
  const int printed =
      cookie.empty() ? ber_printf(request.get(), "{e}", LDAP_SYNC_REFRESH_ONLY)
                     : ber_printf(request.get(), "{eO}", LDAP_SYNC_REFRESH_ONLY, &cookie_value);
  LDAPControl control{};
  if (printed < 0 || ber_flatten2(request.get(), &control.ldctl_value, 0) < 0) {
    return absl::InternalError(where + ": cannot encode the Sync Request control");
  }
  control.ldctl_oid = const_cast<char*>(LDAP_CONTROL_SYNC);
  control.ldctl_iscritical = 1;
  LDAPControl* ctrls[] = {&control, nullptr};
  AttributeList attrs(attributes);
  int msgid = 0;
  int rc = ldap_search_ext(ld_, options_.base_dn.c_str(), ScopeOf(options_.scope),
                           options_.filter.c_str(), attrs.get(), 0, ctrls, nullptr, nullptr,
                           LDAP_NO_LIMIT, &msgid);
  if (rc != LDAP_SUCCESS) return StatusOf(rc, where + ": " + DescribeCall(ld_, rc));

  SyncOutcome out;
  out.cookie = cookie;
  while (true) {
    LDAPMessage* raw = nullptr;
    timeval tv = Tv(options_.timeout_ms);
    rc = ldap_result(ld_, msgid, LDAP_MSG_ONE, &tv, &raw);
    Msg msg(raw);
    if (rc <= 0) {
      if (rc == 0) ldap_abandon_ext(ld_, msgid, nullptr, nullptr);
      int err = LDAP_TIMEOUT;
      if (rc < 0) ldap_get_option(ld_, LDAP_OPT_RESULT_CODE, &err);
      return StatusOf(
          err, where + ": " + (rc == 0 ? "no answer within timeout_ms" : DescribeCall(ld_, err)));
    }
    absl::Status s;
    switch (ldap_msgtype(raw)) {
      case LDAP_RES_SEARCH_ENTRY:
        s = OnSyncEntry(ld_, raw, where, handler, &out);
        break;
      case LDAP_RES_INTERMEDIATE:
        s = OnSyncInfo(ld_, raw, where, handler, &out);
        break;
      case LDAP_RES_SEARCH_RESULT: {
        std::string why;
        Controls done;
        rc = ParseDone(ld_, raw, &why, &done);
        if (rc == LDAP_SYNC_REFRESH_REQUIRED) {
          out.refresh_required = true;
          return out;
        }
        if (rc != LDAP_SUCCESS) return StatusOf(rc, where + ": " + why);
        LDAPControl* c = ldap_control_find(LDAP_CONTROL_SYNC_DONE, done.get(), nullptr);
        bool refresh_deletes = false;
        Ber ber(c == nullptr ? nullptr : ber_init(&c->ldctl_value));
        if (!ber || ber_scanf(ber.get(), "{") == LBER_ERROR ||
            !ScanCookie(ber.get(), &out.cookie) || !ScanFlag(ber.get(), &refresh_deletes)) {
          return absl::DataLossError(where + ": the result has no valid Sync Done control");
        }
        if (!refresh_deletes) out.present_phase = true;
        return out;
      }
      default:  // references: this connector follows none
        break;
    }
    if (!s.ok()) {
      ldap_abandon_ext(ld_, msgid, nullptr, nullptr);
      return s;
    }
  }
}

}  // namespace tessera::connect
