#define BOOST_TEST_MODULE ad_values
#include "connectors/ad/ad_values.h"

#include <boost/test/unit_test.hpp>

using namespace tessera::connect::ad;

BOOST_AUTO_TEST_CASE(guid_bytes_print_in_windows_order) {
  // objectGUID as the DC sends it (the base64 "N407tENbaUqxLyxlTuX16g==" of a Samba group).
  const std::string bytes("\x37\x8d\x3b\xb4\x43\x5b\x69\x4a\xb1\x2f\x2c\x65\x4e\xe5\xf5\xea", 16);
  BOOST_TEST(GuidString(bytes).value() == "b43b8d37-5b43-4a69-b12f-2c654ee5f5ea");
  BOOST_TEST(GuidBytes("b43b8d37-5b43-4a69-b12f-2c654ee5f5ea").value() == bytes);
  BOOST_TEST(GuidBytes("B43B8D37-5B43-4A69-B12F-2C654EE5F5EA").value() == bytes);
  BOOST_TEST(!GuidString("short").has_value());
  BOOST_TEST(!GuidBytes("b43b8d375b434a69b12f2c654ee5f5ea").has_value());
  BOOST_TEST(!GuidBytes("b43b8d37-5b43-4a69-b12f-2c654ee5f5eg").has_value());
}

BOOST_AUTO_TEST_CASE(extended_dn_gives_guid_and_plain_dn) {
  ExtendedDn e = ParseExtendedDn(
      "<GUID=83aabab1-d65a-494a-a5b0-242532bf0cc5>;<SID=S-1-5-21-1-2-3-1108>;CN=user5,CN=Users,"
      "DC=lumen,DC=example");
  BOOST_TEST(e.guid == "83aabab1-d65a-494a-a5b0-242532bf0cc5");
  BOOST_TEST(e.dn == "CN=user5,CN=Users,DC=lumen,DC=example");
  // An OU has no SID; Windows' flag-0 form is the hex of the raw bytes.
  e = ParseExtendedDn("<GUID=378d3bb4435b694ab12f2c654ee5f5ea>;OU=Staff,DC=x");
  BOOST_TEST(e.guid == "b43b8d37-5b43-4a69-b12f-2c654ee5f5ea");
  BOOST_TEST(e.dn == "OU=Staff,DC=x");
  e = ParseExtendedDn("CN=plain,DC=x");
  BOOST_TEST(e.guid.empty());
  BOOST_TEST(e.dn == "CN=plain,DC=x");
}

BOOST_AUTO_TEST_CASE(account_expires_and_when_changed_become_dates) {
  BOOST_TEST(!FileTimeDate("0").has_value());
  BOOST_TEST(!FileTimeDate("9223372036854775807").has_value());
  BOOST_TEST(!FileTimeDate("soon").has_value());
  // 2020-01-31 00:00 UTC = Unix 1580428800.
  BOOST_TEST(FileTimeDate("132249024000000000").value() == "2020-01-31");
  BOOST_TEST(FileTimeUnix("132249024000000000").value() == 1580428800);
  BOOST_TEST(GeneralizedDate("20261205121315.0Z").value() == "2026-12-05");
  BOOST_TEST(!GeneralizedDate("2026").has_value());
}

BOOST_AUTO_TEST_CASE(leaver_rule_takes_the_earlier_date_and_can_be_turned_off) {
  const char* expires = "132249024000000000";  // 2020-01-31
  BOOST_TEST(EndDate({}, "512", "9223372036854775807", "20261205121315.0Z") == "");
  BOOST_TEST(EndDate({}, "514", "0", "20261205121315.0Z") == "2026-12-05");
  BOOST_TEST(EndDate({}, "512", expires, "20261205121315.0Z") == "2020-01-31");
  BOOST_TEST(EndDate({}, "514", expires, "20261205121315.0Z") == "2020-01-31");
  BOOST_TEST(EndDate({true, false}, "512", expires, "20261205121315.0Z") == "");
  BOOST_TEST(EndDate({false, true}, "514", "0", "20261205121315.0Z") == "");
}

BOOST_AUTO_TEST_CASE(proxy_addresses_give_primary_first_and_skip_other_types) {
  const std::vector<std::string> got =
      SmtpAddresses({"smtp:ann@old.example", "X500:/o=ExchangeLabs/cn=ann",
                     "SMTP:ann@lumen.example", "sip:ann@lumen.example"});
  BOOST_TEST(got == (std::vector<std::string>{"ann@lumen.example", "ann@old.example"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(dn_helpers) {
  BOOST_TEST(DnsDomainOf("CN=a,OU=x,DC=Lumen,DC=example") == "lumen.example");
  BOOST_TEST(DnWithin("CN=a,OU=Staff,DC=lumen,DC=example", "ou=staff, dc=Lumen, dc=example"));
  BOOST_TEST(DnWithin("DC=lumen,DC=example", "DC=lumen,DC=example"));
  BOOST_TEST(!DnWithin("CN=a,OU=Other,DC=lumen,DC=example", "OU=Staff,DC=lumen,DC=example"));
  BOOST_TEST(!DnWithin("CN=a,OU=xStaff,DC=lumen,DC=example", "OU=Staff,DC=lumen,DC=example"));
}
