// Golden bytes: records encoded today against bytes assembled by hand from the grammar
// in server/store/FORMATS.md, field by field. A change to an encoding fails here; it
// must come with a new format or layout marker (FORMATS.md §2) and a new golden case,
// the old bytes still decoding as they did.

#define BOOST_TEST_MODULE format_golden
#include <boost/test/unit_test.hpp>
#include <string>
#include <string_view>

#include "server/directory/changelog.h"
#include "server/identity/fragment.h"
#include "server/identity/source.h"
#include "server/index/postings.h"

namespace tessera {
namespace {

// Bytes written the way FORMATS.md writes productions: hex bytes and literal text.
class Bytes {
 public:
  Bytes& Hex(std::string_view hex) {
    for (size_t i = 0; i + 1 < hex.size();) {
      if (hex[i] == ' ') {
        ++i;
        continue;
      }
      out_.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
      i += 2;
    }
    return *this;
  }
  Bytes& Text(std::string_view text) {
    out_.append(text);
    return *this;
  }
  // An lstring: varint64 length (one byte here) then the bytes.
  Bytes& L(std::string_view text) {
    out_.push_back(static_cast<char>(text.size()));
    return Text(text);
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

std::string AsHex(const std::string& s) {
  static const char* const kDigits = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
    out += ' ';
  }
  return out;
}

BOOST_AUTO_TEST_CASE(fragment_key_and_value) {
  identity::StoredFragment sf;
  identity::Fragment& f = sf.fragment;
  f.source = "hr";
  f.external_id = "E1";
  f.version = 3;
  f.kind = "employee";
  f.updated_at_ms = 1000;
  f.attributes = {{"title", "CTO"}};
  identity::Identifier email;
  email.type = "email";
  email.value = "a@b.example";
  email.tag = identity::IdType::kEmail;
  f.identifiers = {email};
  sf.fno = 7;
  sf.entity = 42;
  sf.origin = 9;  // first linked to another profile

  const std::string key = Bytes().Hex("00 00 00 02").Text("E1").str();  // fixed32be · bytes
  BOOST_TEST(AsHex(identity::FragmentKey(2, "E1")) == AsHex(key));

  const std::string golden = Bytes()
                                 .Hex("01")     // record_version
                                 .Hex("00")     // flags: not a tombstone
                                 .Hex("03")     // version
                                 .Hex("07")     // fragment_number
                                 .Hex("2a")     // profile_id 42
                                 .Hex("d0 0f")  // updated_at_ms 1000: zig-zag 2000
                                 .L("hr")
                                 .L("E1")
                                 .L("employee")
                                 .Hex("01")  // one attribute
                                 .L("title")
                                 .L("CTO")
                                 .Hex("01")  // one identifier: tag, value, raw
                                 .Hex("04")
                                 .L("a@b.example")
                                 .Hex("00")
                                 .Hex("00")  // no relations
                                 .Hex("00")  // no evidence
                                 .Hex("09")  // origin
                                 .str();
  BOOST_TEST(AsHex(identity::EncodeFragment(sf)) == AsHex(golden));

  identity::StoredFragment back;
  BOOST_REQUIRE(identity::DecodeFragment(golden, &back).ok());
  BOOST_TEST(back.fragment.source == "hr");
  BOOST_TEST(back.fragment.external_id == "E1");
  BOOST_TEST(back.fragment.version == 3u);
  BOOST_TEST(back.fragment.updated_at_ms == 1000);
  BOOST_REQUIRE_EQUAL(back.fragment.identifiers.size(), 1u);
  BOOST_TEST(back.fragment.identifiers[0].value == "a@b.example");
  BOOST_TEST(back.fno == 7u);
  BOOST_TEST(back.entity == 42u);
  BOOST_TEST(back.origin == 9u);

  // A record from before `origin` was appended reads it as the profile id.
  identity::StoredFragment old;
  BOOST_REQUIRE(identity::DecodeFragment(golden.substr(0, golden.size() - 1), &old).ok());
  BOOST_TEST(old.origin == 42u);
  // A byte left over is corruption, not a newer field.
  BOOST_TEST(!identity::DecodeFragment(golden + '\x01' + '\x01', &old).ok());
}

BOOST_AUTO_TEST_CASE(source_value) {
  identity::Source s;
  s.id = "hr";
  s.kind = "csv";
  s.priority = 80;
  s.description = "HR export";
  s.num = 2;
  const std::string golden = Bytes()
                                 .Hex("02")     // number
                                 .Hex("a0 01")  // priority 80: zig-zag 160
                                 .L("hr")
                                 .L("csv")
                                 .L("HR export")
                                 .str();
  BOOST_TEST(AsHex(identity::EncodeSource(s)) == AsHex(golden));
  identity::Source back;
  BOOST_REQUIRE(identity::DecodeSource(golden, &back).ok());
  BOOST_TEST(back.num == 2u);
  BOOST_TEST(back.priority == 80);
  BOOST_TEST(back.description == "HR export");
  BOOST_TEST(identity::SourceMetaKey("hr") == "source/hr");
}

BOOST_AUTO_TEST_CASE(change_key_and_value) {
  BOOST_TEST(AsHex(directory::ChangeKey(5)) == AsHex(Bytes().Hex("00 00 00 00 00 00 00 05").str()));
  directory::ChangeRecord c;
  c.profile = 42;
  c.op = directory::ChangeRecord::Op::kUpsert;
  c.time_ms = 1000;
  c.kinds = {"employee"};
  const std::string golden = Bytes()
                                 .Hex("01")     // op: upsert
                                 .Hex("2a")     // profile_id
                                 .Hex("d0 0f")  // time_ms
                                 .Hex("01")     // one kind
                                 .L("employee")
                                 .str();
  BOOST_TEST(AsHex(directory::EncodeChange(c)) == AsHex(golden));

  // A delete written before kinds were recorded.
  directory::ChangeRecord old;
  BOOST_REQUIRE(directory::DecodeChange(Bytes().Hex("02 2a d0 0f").str(), &old).ok());
  BOOST_TEST(static_cast<int>(old.op) == static_cast<int>(directory::ChangeRecord::Op::kDelete));
  BOOST_TEST(old.profile == 42u);
  BOOST_TEST(old.kinds.empty());
  // An unknown operation is corruption.
  BOOST_TEST(!directory::DecodeChange(Bytes().Hex("03 2a d0 0f").str(), &old).ok());
}

BOOST_AUTO_TEST_CASE(postings_keys) {
  // Evidence of 2024-03-15 (day 19797) is in epoch 154 (days 19712 to 19839); document
  // 2^24 + 5 is in block 64.
  const uint64_t epoch_of_day = index::EpochOfDay(19797);
  BOOST_TEST(epoch_of_day == 154u);
  BOOST_TEST(index::LastDayOf(154) == 19839u);
  const uint64_t block = (uint64_t{1} << 24 | 5) >> index::kBlockBits;
  BOOST_TEST(block == 64u);
  const std::string golden = Bytes()
                                 .Hex("00")                       // block key
                                 .Hex("00 00 00 00 00 00 00 9a")  // epoch = day >> 7
                                 .Text("card")
                                 .Hex("00")
                                 .Hex("00 00 00 00 00 00 00 40")  // block
                                 .str();
  BOOST_TEST(AsHex(index::BlockKey("card", 154, block)) == AsHex(golden));
  BOOST_TEST(AsHex(index::BlockPrefix("card", 154)) == AsHex(golden.substr(0, golden.size() - 8)));
  const std::string df = Bytes().Hex("01").Text("card").str();
  BOOST_TEST(AsHex(index::DfKey("card")) == AsHex(df));
  const std::string epoch_count = Bytes().Hex("02").Hex("00 00 00 00 00 00 00 9a").str();
  BOOST_TEST(AsHex(index::EpochKey(154)) == AsHex(epoch_count));
  const bool blocks_first =
      index::BlockKey("zzz", UINT64_MAX, UINT64_MAX >> index::kBlockBits) < df;
  BOOST_TEST(blocks_first);
  BOOST_TEST(df < epoch_count);
}

}  // namespace
}  // namespace tessera
