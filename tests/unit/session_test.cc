#define BOOST_TEST_MODULE session
#include "server/http/session.h"

#include <boost/test/unit_test.hpp>
#include <set>

// The console's session store against a clock the test moves: idle and absolute
// expiry, the cap, sign-out, and the cookie header's parsing.

using namespace tessera;

namespace {

struct Clock {
  int64_t now = 1'000'000;
  std::function<int64_t()> fn() {
    return [this] { return now; };
  }
};

http::Session Credentials(const std::string& token) {
  http::Session s;
  s.authorization = "Bearer " + token;
  s.principal = "p-" + token;
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_session_keeps_its_credentials_and_gets_random_ids) {
  Clock clock;
  http::SessionStore store({}, clock.fn());
  const http::Session a = store.Open(Credentials("one"));
  const http::Session b = store.Open(Credentials("two"));
  BOOST_TEST(a.id.size() == 64u);
  BOOST_TEST(a.csrf.size() == 64u);
  BOOST_TEST(a.id.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST(a.id != b.id);
  BOOST_TEST(a.id != a.csrf);
  std::optional<http::Session> found = store.Touch(a.id);
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST(*found->authorization == "Bearer one");
  BOOST_TEST(found->csrf == a.csrf);
  BOOST_TEST(!store.Touch("not-a-session").has_value());
  BOOST_TEST(!store.Touch("").has_value());
}

BOOST_AUTO_TEST_CASE(idle_sessions_end_and_calls_keep_them_alive) {
  Clock clock;
  http::SessionOptions o;
  o.idle_ms = 1000;
  o.max_age_ms = 10'000;
  http::SessionStore store(o, clock.fn());
  const std::string busy = store.Open(Credentials("busy")).id;
  const std::string idle = store.Open(Credentials("idle")).id;
  for (int i = 0; i < 5; ++i) {
    clock.now += 900;
    BOOST_TEST(store.Touch(busy).has_value(), "call " << i);
  }
  BOOST_TEST(!store.Touch(idle).has_value());  // 4.5 s without a call
  BOOST_TEST(store.size() == 1u);              // and forgotten
}

BOOST_AUTO_TEST_CASE(every_session_ends_at_its_absolute_expiry) {
  Clock clock;
  http::SessionOptions o;
  o.idle_ms = 1000;
  o.max_age_ms = 3000;
  http::SessionStore store(o, clock.fn());
  const std::string id = store.Open(Credentials("t")).id;
  clock.now += 900;
  BOOST_TEST(store.Touch(id).has_value());
  clock.now += 900;
  BOOST_TEST(store.Touch(id).has_value());
  clock.now += 900;
  BOOST_TEST(store.Touch(id).has_value());  // 2.7 s old
  clock.now += 300;
  BOOST_TEST(!store.Touch(id).has_value());  // 3.0 s old, however busy
}

BOOST_AUTO_TEST_CASE(sign_out_ends_a_session) {
  Clock clock;
  http::SessionStore store({}, clock.fn());
  const std::string id = store.Open(Credentials("t")).id;
  BOOST_TEST(store.Close(id));
  BOOST_TEST(!store.Touch(id).has_value());
  BOOST_TEST(!store.Close(id));
}

BOOST_AUTO_TEST_CASE(past_the_cap_the_least_recently_used_goes) {
  Clock clock;
  http::SessionOptions o;
  o.max_sessions = 3;
  http::SessionStore store(o, clock.fn());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(store.Open(Credentials(std::to_string(i))).id);  // three principals
    clock.now += 10;
  }
  BOOST_TEST(store.Touch(ids[0]).has_value());  // 0 is used again: 1 is now the oldest
  clock.now += 10;
  const std::string fourth = store.Open(Credentials("3")).id;
  BOOST_TEST(store.size() == 3u);
  BOOST_TEST(store.Touch(ids[0]).has_value());
  BOOST_TEST(!store.Touch(ids[1]).has_value());
  BOOST_TEST(store.Touch(ids[2]).has_value());
  BOOST_TEST(store.Touch(fourth).has_value());
}

BOOST_AUTO_TEST_CASE(one_principal_signing_in_again_and_again_pushes_out_only_their_own) {
  Clock clock;
  http::SessionOptions o;
  o.max_sessions = 10;
  o.max_per_principal = 2;
  http::SessionStore store(o, clock.fn());
  const std::string other = store.Open(Credentials("other")).id;
  std::vector<std::string> mine;
  for (int i = 0; i < 50; ++i) {
    clock.now += 10;
    mine.push_back(store.Open(Credentials("me")).id);
  }
  BOOST_TEST(store.size() == 3u);
  BOOST_TEST(store.Touch(other).has_value());
  BOOST_TEST(store.Touch(mine[49]).has_value());
  BOOST_TEST(store.Touch(mine[48]).has_value());
  BOOST_TEST(!store.Touch(mine[47]).has_value());
}

BOOST_AUTO_TEST_CASE(cookie_values_are_found_by_exact_name) {
  BOOST_TEST(http::CookieValue("tessera_session=abc", "tessera_session") == "abc");
  BOOST_TEST(http::CookieValue("a=1; tessera_session=abc; b=2", "tessera_session") == "abc");
  BOOST_TEST(http::CookieValue("a=1;tessera_session=abc", "tessera_session") == "abc");
  BOOST_TEST(http::CookieValue("xtessera_session=abc; tessera_session_old=d", "tessera_session") ==
             "");
  BOOST_TEST(http::CookieValue("", "tessera_session") == "");
  BOOST_TEST(http::CookieValue("tessera_session", "tessera_session") == "");
  BOOST_TEST(http::CookieValue("tessera_session=", "tessera_session") == "");
}

BOOST_AUTO_TEST_CASE(random_tokens_do_not_repeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(http::RandomToken());
  BOOST_TEST(seen.size() == 1000u);
}
