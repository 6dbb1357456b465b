// The social customer-care connector (kind "social"): one customer fragment per
// conversation of a JSON-lines export (Twitter, Facebook, Instagram, WhatsApp). The
// customer's handle or number identifies them; the agent who answered gets an
// `answered_by` relation and the conversation as evidence of what they can solve.
// Format, mapping and limits: connectors/social/README.md.

#include <algorithm>
#include <string>

#include "client/lib/text_formats.h"
#include "connectors/common/connector.h"
#include "connectors/common/inputs.h"
#include "nlohmann/json.hpp"

namespace tessera::connect {
namespace {

constexpr size_t kMaxTextBytes = 64 * 1024;  // Evidence.text's limit (tesserad's default)
constexpr const char* kChannels[] = {"twitter", "facebook", "instagram", "whatsapp"};

Mapping SocialMapping() {
  Mapping m;
  m.kind = "customer";
  m.external_id = "key";
  m.attributes = {
      {"display_name", "customer.name"}, {"channel", "channel"}, {"language", "language"}};
  for (const char* channel : kChannels) m.identifiers.emplace_back(channel, channel);
  m.identifiers.emplace_back("phone", "customer.phone");
  m.identifiers.emplace_back("email", "customer.email");
  m.relations.push_back({"answered_by", "agent", ""});
  return m;
}

// Checks a conversation and adds the fields the mapping reads: "key" (channel-id), the
// customer's identifier under the channel's name, and "agent" as "type:value".
absl::Status Prepare(Record& r) {
  const std::string id(Trim(r.First("conversation_id")));
  if (id.empty()) return absl::InvalidArgumentError("no conversation_id");
  const std::string channel = AsciiLower(Trim(r.First("channel")));
  if (std::find(std::begin(kChannels), std::end(kChannels), channel) == std::end(kChannels)) {
    return absl::InvalidArgumentError("unknown channel '" +
                                      std::string(Utf8Prefix(r.First("channel"), 40)) +
                                      "' (expected twitter, facebook, instagram or whatsapp)");
  }
  r.Set("channel", channel);
  r.Set("key", channel + "-" + id);
  for (const char* c : kChannels) r.fields.erase(c);
  const std::string handle(Trim(r.First("customer.handle"))),
      phone(Trim(r.First("customer.phone")));
  if (channel == "whatsapp" && (!phone.empty() || !handle.empty())) {
    r.Set(channel, phone.empty() ? handle : phone);
  } else if (channel != "whatsapp" && !handle.empty()) {
    r.Set(channel, handle);
  } else {
    return absl::InvalidArgumentError(std::string("no customer.") +
                                      (channel == "whatsapp" ? "phone" : "handle") + " for a " +
                                      channel + " conversation");
  }
  if (const std::string_view agent = Trim(r.First("agent")); !agent.empty()) {
    absl::StatusOr<std::string> target = PersonTarget(agent, "agent");
    if (!target.ok()) return target.status();
    r.Set("agent", *target);
  }
  if (std::string language(Trim(r.First("language"))); !language.empty()) {
    std::replace(language.begin(), language.end(), '_', '-');  // fr_CA
    if (!IsLanguageTag(language)) {
      return absl::InvalidArgumentError("language '" +
                                        std::string(Utf8Prefix(Trim(r.First("language")), 40)) +
                                        "' is not a language tag like fr or en-CA");
    }
    r.Set("language", language);
  }
  return absl::OkStatus();
}

// A conversation's title: the first words of the customer's first message.
constexpr size_t kTitleBytes = 80;

struct Conversation {
  std::string title;    // the first words of the customer's first message
  std::string text;     // "Customer: ...\nAgent: ...", clipped to the evidence limit
  int64_t time_ms = 0;  // the last message's time, else started_at; 0 when neither
};

// m[key] when it is a string, else "".
std::string StringField(const nlohmann::json& m, const char* key) {
  auto it = m.find(key);
  return it != m.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Reads the messages (JSON objects {from, text, at}) of a prepared conversation.
absl::StatusOr<Conversation> ReadMessages(const Record& r) {
  Conversation c;
  if (const std::string_view started = Trim(r.First("started_at")); !started.empty()) {
    absl::StatusOr<int64_t> t = client::ParseTime(started);
    if (!t.ok()) {
      return absl::InvalidArgumentError("started_at: " + std::string(t.status().message()));
    }
    c.time_ms = *t;
  }
  auto it = r.fields.find("messages");
  if (it == r.fields.end()) return c;
  for (size_t i = 0; i < it->second.size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    const nlohmann::json m =
        nlohmann::json::parse(it->second[i], nullptr, /*allow_exceptions=*/false);
    if (m.is_discarded() || !m.is_object()) {
      return absl::InvalidArgumentError(where + ": not an object");
    }
    const std::string from = AsciiLower(StringField(m, "from"));
    if (from != "customer" && from != "agent") {
      return absl::InvalidArgumentError(where + ".from: '" +
                                        std::string(Utf8Prefix(StringField(m, "from"), 40)) +
                                        "' is not customer or agent");
    }
    if (const std::string at = StringField(m, "at"); !at.empty()) {
      absl::StatusOr<int64_t> t = client::ParseTime(at);
      if (!t.ok()) {
        return absl::InvalidArgumentError(where + ".at: " + std::string(t.status().message()));
      }
      c.time_ms = std::max(c.time_ms, *t);
    }
    const std::string text = StringField(m, "text");
    if (Trim(text).empty()) continue;  // an attachment or a sticker
    if (from == "customer" && c.title.empty()) {
      std::string line(Trim(text));
      std::replace_if(
          line.begin(), line.end(), [](char ch) { return ch == '\n' || ch == '\r' || ch == '\t'; },
          ' ');
      c.title = ClipText(line, kTitleBytes);
    }
    if (!c.text.empty()) c.text += '\n';
    c.text += (from == "customer" ? "Customer: " : "Agent: ") + std::string(Trim(text));
  }
  c.text = ClipText(c.text, kMaxTextBytes);
  return c;
}

// Emits the fragment of one conversation line, or rejects the line.
absl::Status EmitConversation(Record& r, Sink& sink) {
  if (absl::Status bad = Prepare(r); !bad.ok()) {
    sink.Reject(r.locator, std::string(bad.message()));
    return absl::OkStatus();
  }
  absl::StatusOr<Conversation> c = ReadMessages(r);
  if (!c.ok()) {
    sink.Reject(r.locator, std::string(c.status().message()));
    return absl::OkStatus();
  }
  auto add_evidence = [&c](const Record& rec, v1::Fragment& f) {
    if (c->time_ms > 0) f.set_updated_at_unix_ms(c->time_ms);
    if (rec.First("agent").empty() || c->text.empty()) return absl::OkStatus();  // identity only
    v1::Evidence* e = f.add_evidence();
    e->set_kind("conversation");
    e->set_role("answered_by");
    e->set_title(c->title);
    e->set_text(c->text);
    e->set_language(std::string(rec.First("language")));
    e->set_time_unix_ms(c->time_ms);
    return absl::OkStatus();
  };
  return sink.EmitRecord(r, add_evidence);
}

class SocialConnector final : public Connector {
 public:
  explicit SocialConnector(std::string path) : path_(std::move(path)) {}

  absl::StatusOr<ReadResult> Read(const ReadRequest&, Sink& sink) override {
    absl::Status s =
        ReadJsonLines(path_, sink, [&sink](Record& r) { return EmitConversation(r, sink); });
    if (!s.ok()) return s;
    return ReadResult{true, ""};
  }

 private:
  std::string path_;
};

absl::StatusOr<std::unique_ptr<Connector>> MakeSocial(const SourceConfig& c) {
  const nlohmann::json in = nlohmann::json::parse(c.input_json);
  if (!in.contains("path") || !in["path"].is_string() || in["path"].get<std::string>().empty()) {
    return absl::InvalidArgumentError(
        "\"input.path\": the conversations export (JSON lines) is required");
  }
  for (const auto& [key, v] : in.items()) {
    if (key != "path") {
      return absl::InvalidArgumentError("\"input." + key + "\": unknown key (expected path)");
    }
  }
  return std::make_unique<SocialConnector>(c.Resolve(in["path"].get<std::string>()));
}

TESSERA_REGISTER_CONNECTOR(social,
                           ConnectorKind{
                               "social",
                               "social customer care: conversations from a JSON-lines export "
                               "(input.path)",
                               SocialMapping, MakeSocial});

}  // namespace
}  // namespace tessera::connect
