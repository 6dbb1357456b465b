#include "server/scim/filter.h"

#include <cctype>
#include <vector>

namespace tessera::scim {
namespace {

constexpr size_t kMaxFilterBytes = 4096;
constexpr int kMaxDepth = 64;

struct Token {
  enum class Kind { kWord, kString, kOpen, kClose, kOpenBracket, kCloseBracket, kEnd } kind;
  std::string text;  // word or decoded string
  size_t at = 0;
};

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '$' ||
         c == '_' || c == '-' || c == '@' || c == '+' || static_cast<unsigned char>(c) >= 0x80;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<std::unique_ptr<Filter>> Parse() {
    if (absl::Status s = Tokenize(); !s.ok()) return s;
    absl::StatusOr<std::unique_ptr<Filter>> f = Or(0);
    if (!f.ok()) return f;
    if (Peek().kind != Token::Kind::kEnd)
      return Error("unexpected '" + Peek().text + "'", Peek().at);
    return f;
  }

 private:
  absl::Status Error(const std::string& what, size_t at) const {
    return absl::InvalidArgumentError("filter: " + what + " at character " +
                                      std::to_string(at + 1));
  }

  absl::Status Tokenize() {
    size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      if (c == ' ' || c == '\t') {
        ++i;
      } else if (c == '(' || c == ')' || c == '[' || c == ']') {
        const Token::Kind k = c == '('   ? Token::Kind::kOpen
                              : c == ')' ? Token::Kind::kClose
                              : c == '[' ? Token::Kind::kOpenBracket
                                         : Token::Kind::kCloseBracket;
        tokens_.push_back({k, std::string(1, c), i});
        ++i;
      } else if (c == '"') {
        // A JSON string literal, escapes included.
        size_t j = i + 1;
        while (j < text_.size() && text_[j] != '"') j += text_[j] == '\\' ? 2 : 1;
        if (j >= text_.size()) return Error("unterminated string", i);
        const Json decoded =
            Json::parse(text_.substr(i, j + 1 - i), nullptr, /*allow_exceptions=*/false);
        if (!decoded.is_string()) return Error("invalid string literal", i);
        tokens_.push_back({Token::Kind::kString, decoded.get<std::string>(), i});
        i = j + 1;
      } else if (IsWordChar(c)) {
        size_t j = i;
        while (j < text_.size() && IsWordChar(text_[j])) ++j;
        tokens_.push_back({Token::Kind::kWord, std::string(text_.substr(i, j - i)), i});
        i = j;
      } else {
        return Error(std::string("unexpected character '") + c + "'", i);
      }
    }
    tokens_.push_back({Token::Kind::kEnd, "end of filter", text_.size()});
    return absl::OkStatus();
  }

  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool PeekWord(std::string_view w) const {
    return Peek().kind == Token::Kind::kWord && SameName(Peek().text, w);
  }

  static std::unique_ptr<Filter> Join(Filter::Kind k, std::unique_ptr<Filter> l,
                                      std::unique_ptr<Filter> r) {
    auto f = std::make_unique<Filter>();
    f->kind = k;
    f->left = std::move(l);
    f->right = std::move(r);
    return f;
  }

  absl::StatusOr<std::unique_ptr<Filter>> Or(int depth) {
    absl::StatusOr<std::unique_ptr<Filter>> l = And(depth);
    if (!l.ok()) return l;
    std::unique_ptr<Filter> f = *std::move(l);
    while (PeekWord("or")) {
      Next();
      absl::StatusOr<std::unique_ptr<Filter>> r = And(depth);
      if (!r.ok()) return r;
      f = Join(Filter::Kind::kOr, std::move(f), *std::move(r));
    }
    return f;
  }

  absl::StatusOr<std::unique_ptr<Filter>> And(int depth) {
    absl::StatusOr<std::unique_ptr<Filter>> l = Unary(depth);
    if (!l.ok()) return l;
    std::unique_ptr<Filter> f = *std::move(l);
    while (PeekWord("and")) {
      Next();
      absl::StatusOr<std::unique_ptr<Filter>> r = Unary(depth);
      if (!r.ok()) return r;
      f = Join(Filter::Kind::kAnd, std::move(f), *std::move(r));
    }
    return f;
  }

  absl::StatusOr<std::unique_ptr<Filter>> Grouped(int depth, Token::Kind close,
                                                  const char* closing) {
    if (depth >= kMaxDepth)
      return Error("nested more than " + std::to_string(kMaxDepth) + " levels", Peek().at);
    absl::StatusOr<std::unique_ptr<Filter>> f = Or(depth + 1);
    if (!f.ok()) return f;
    if (Peek().kind != close)
      return Error(std::string("expected '") + closing + "', found '" + Peek().text + "'",
                   Peek().at);
    Next();
    return f;
  }

  absl::StatusOr<std::unique_ptr<Filter>> Unary(int depth) {
    if (PeekWord("not")) {
      Next();
      if (Peek().kind != Token::Kind::kOpen) return Error("expected '(' after 'not'", Peek().at);
      Next();
      absl::StatusOr<std::unique_ptr<Filter>> inner = Grouped(depth, Token::Kind::kClose, ")");
      if (!inner.ok()) return inner;
      return Join(Filter::Kind::kNot, *std::move(inner), nullptr);
    }
    if (Peek().kind == Token::Kind::kOpen) {
      Next();
      return Grouped(depth, Token::Kind::kClose, ")");
    }
    return Comparison(depth);
  }

  static AttrPath SplitPath(std::string_view text) {
    AttrPath p;
    if (text.size() > 4 && SameName(text.substr(0, 4), "urn:")) {
      const size_t colon = text.rfind(':');
      p.urn = std::string(text.substr(0, colon));
      text.remove_prefix(colon + 1);
    }
    const size_t dot = text.find('.');
    p.attr = std::string(text.substr(0, dot));
    if (dot != std::string_view::npos) p.sub = std::string(text.substr(dot + 1));
    return p;
  }

  static bool IsPath(const AttrPath& p) {
    if (p.attr.empty() || p.sub.find('.') != std::string::npos) return false;
    const auto ok = [](std::string_view s) {
      if (s.empty()) return true;
      if (!std::isalpha(static_cast<unsigned char>(s[0])) && s[0] != '$') return false;
      for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '$')
          return false;
      }
      return true;
    };
    return ok(p.attr) && ok(p.sub);
  }

  absl::StatusOr<Json> Value() {
    const Token& t = Next();
    if (t.kind == Token::Kind::kString) return Json(t.text);
    if (t.kind != Token::Kind::kWord)
      return Error("expected a value, found '" + t.text + "'", t.at);
    if (t.text == "true") return Json(true);
    if (t.text == "false") return Json(false);
    if (t.text == "null") return Json(nullptr);
    const Json number = Json::parse(t.text, nullptr, /*allow_exceptions=*/false);
    if (number.is_number()) return number;
    // A bare token stands for a string (Microsoft's examples write `externalId eq jyoung`).
    return Json(t.text);
  }

  absl::Status Operator(Filter& f) {
    const Token& t = Peek();
    if (t.kind == Token::Kind::kWord) {
      const std::string op = AsciiLower(t.text);
      if (op == "pr") {
        Next();
        f.kind = f.kind == Filter::Kind::kValuePath ? f.kind : Filter::Kind::kPresent;
        f.op = "pr";
        return absl::OkStatus();
      }
      for (const char* known : {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}) {
        if (op == known) {
          Next();
          f.op = op;
          absl::StatusOr<Json> v = Value();
          if (!v.ok()) return v.status();
          f.value = *std::move(v);
          return absl::OkStatus();
        }
      }
    }
    return Error("expected an operator (eq ne co sw ew gt ge lt le pr) after '" + f.path.Text() +
                     "', found '" + t.text + "'",
                 t.at);
  }

  absl::StatusOr<std::unique_ptr<Filter>> Comparison(int depth) {
    const Token& t = Next();
    if (t.kind != Token::Kind::kWord)
      return Error("expected an attribute, found '" + t.text + "'", t.at);
    auto f = std::make_unique<Filter>();
    f->path = SplitPath(t.text);
    if (!IsPath(f->path)) return Error("'" + t.text + "' is not an attribute path", t.at);
    if (Peek().kind == Token::Kind::kOpenBracket) {
      if (!f->path.sub.empty())
        return Error("a value filter follows an attribute, not a sub-attribute", Peek().at);
      Next();
      absl::StatusOr<std::unique_ptr<Filter>> inner =
          Grouped(depth, Token::Kind::kCloseBracket, "]");
      if (!inner.ok()) return inner;
      f->kind = Filter::Kind::kValuePath;
      f->left = *std::move(inner);
      // Entra's form: `emails[type eq "work"].value eq "x"`.
      if (Peek().kind == Token::Kind::kWord && Peek().text.size() > 1 && Peek().text[0] == '.') {
        const Token& sub = Next();
        f->path.sub = sub.text.substr(1);
        if (!IsPath(f->path)) return Error("'" + sub.text + "' is not a sub-attribute", sub.at);
        if (absl::Status s = Operator(*f); !s.ok()) return s;
      }
      return f;
    }
    if (absl::Status s = Operator(*f); !s.ok()) return s;
    return f;
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

// The definition of `path`'s attribute (and sub-attribute) in `r`'s schemas.
struct Resolved {
  const Attr* attr = nullptr;
  const Attr* sub = nullptr;
  const Json* container = nullptr;  // where the attribute lives: the resource or its extension
};

const Json* FindKey(const Json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (SameName(it.key(), name)) return &it.value();
  }
  return nullptr;
}

Resolved Resolve(const AttrPath& path, const Json& resource, Resource r) {
  Resolved out;
  const Schema* ext = ExtensionSchema(r);
  const Schema* schema = &CoreSchema(r);
  out.container = &resource;
  if (!path.urn.empty()) {
    if (ext != nullptr && SameName(path.urn, ext->id)) {
      schema = ext;
      out.container = FindKey(resource, ext->id);
    } else if (!SameName(path.urn, schema->id)) {
      out.container = nullptr;
    }
  } else if (schema->Find(path.attr) == nullptr && ext != nullptr &&
             ext->Find(path.attr) != nullptr) {
    // Unqualified names of the extension (`department`) are found there too.
    schema = ext;
    out.container = FindKey(resource, ext->id);
  }
  out.attr = schema->Find(path.attr);
  if (out.attr != nullptr && !path.sub.empty()) out.sub = out.attr->Find(path.sub);
  return out;
}

bool CompareOne(const Json& actual, const std::string& op, const Json& expected, bool case_exact) {
  if (op == "pr")
    return !actual.is_null() && !(actual.is_string() && actual.get<std::string>().empty());
  if (actual.is_string() && expected.is_string()) {
    std::string a = actual.get<std::string>(), e = expected.get<std::string>();
    if (!case_exact) a = AsciiLower(a), e = AsciiLower(e);
    if (op == "eq") return a == e;
    if (op == "ne") return a != e;
    if (op == "co") return a.find(e) != std::string::npos;
    if (op == "sw") return a.compare(0, e.size(), e) == 0;
    if (op == "ew") return a.size() >= e.size() && a.compare(a.size() - e.size(), e.size(), e) == 0;
    if (op == "gt") return a > e;
    if (op == "ge") return a >= e;
    if (op == "lt") return a < e;
    if (op == "le") return a <= e;
    return false;
  }
  if (actual.is_number() && expected.is_number()) {
    const double a = actual.get<double>(), e = expected.get<double>();
    if (op == "eq") return a == e;
    if (op == "ne") return a != e;
    if (op == "gt") return a > e;
    if (op == "ge") return a >= e;
    if (op == "lt") return a < e;
    if (op == "le") return a <= e;
    return false;
  }
  if (op == "eq") return actual == expected;
  if (op == "ne") return actual != expected;
  return false;
}

// The values `path` names in `resource`: several for a multi-valued attribute.
std::vector<const Json*> ValuesOf(const AttrPath& path, const Json& resource, Resource r,
                                  bool* case_exact) {
  std::vector<const Json*> out;
  const Resolved res = Resolve(path, resource, r);
  if (res.container == nullptr) return out;
  const Json* v = FindKey(*res.container, path.attr);
  if (v == nullptr) return out;
  *case_exact =
      res.sub != nullptr ? res.sub->case_exact : res.attr != nullptr && res.attr->case_exact;
  std::vector<const Json*> elements;
  if (v->is_array()) {
    for (const Json& e : *v) elements.push_back(&e);
  } else {
    elements.push_back(v);
  }
  for (const Json* e : elements) {
    // A complex value compared as a whole compares its "value" (RFC 7644 §3.4.2.2).
    const std::string_view sub = !path.sub.empty() ? std::string_view(path.sub)
                                 : e->is_object()  ? std::string_view("value")
                                                   : std::string_view();
    if (sub.empty()) {
      out.push_back(e);
    } else if (const Json* s = FindKey(*e, sub); s != nullptr) {
      out.push_back(s);
    }
  }
  return out;
}

bool Eval(const Filter& f, const Json& resource, Resource r);

bool EvalCompare(const Filter& f, const Json& resource, Resource r) {
  bool case_exact = false;
  for (const Json* v : ValuesOf(f.path, resource, r, &case_exact)) {
    if (CompareOne(*v, f.op, f.value, case_exact)) return true;
  }
  return false;
}

bool EvalValuePath(const Filter& f, const Json& resource, Resource r) {
  AttrPath whole = f.path;
  whole.sub.clear();
  const Resolved res = Resolve(whole, resource, r);
  if (res.container == nullptr) return false;
  const Json* v = FindKey(*res.container, whole.attr);
  if (v == nullptr) return false;
  const std::vector<Json> elements =
      v->is_array() ? v->get<std::vector<Json>>() : std::vector<Json>{*v};
  for (const Json& e : elements) {
    // The bracketed filter sees the element's sub-attributes as top-level attributes.
    if (!MatchesElement(*f.left, e, res.attr)) continue;
    if (f.op.empty()) return true;
    const Json* s = FindKey(e, f.path.sub);
    const Attr* sub_def = res.attr != nullptr ? res.attr->Find(f.path.sub) : nullptr;
    if (s != nullptr && CompareOne(*s, f.op, f.value, sub_def != nullptr && sub_def->case_exact))
      return true;
  }
  return false;
}

bool Eval(const Filter& f, const Json& resource, Resource r) {
  switch (f.kind) {
    case Filter::Kind::kCompare:
    case Filter::Kind::kPresent:
      return EvalCompare(f, resource, r);
    case Filter::Kind::kAnd:
      return Eval(*f.left, resource, r) && Eval(*f.right, resource, r);
    case Filter::Kind::kOr:
      return Eval(*f.left, resource, r) || Eval(*f.right, resource, r);
    case Filter::Kind::kNot:
      return !Eval(*f.left, resource, r);
    case Filter::Kind::kValuePath:
      return EvalValuePath(f, resource, r);
  }
  return false;
}

}  // namespace

bool MatchesElement(const Filter& f, const Json& element, const Attr* def) {
  switch (f.kind) {
    case Filter::Kind::kCompare:
    case Filter::Kind::kPresent: {
      const Json* v = FindKey(element, f.path.attr);
      if (v == nullptr) return f.op == "ne";
      const Attr* sub = def != nullptr ? def->Find(f.path.attr) : nullptr;
      return CompareOne(*v, f.op, f.value, sub != nullptr && sub->case_exact);
    }
    case Filter::Kind::kAnd:
      return MatchesElement(*f.left, element, def) && MatchesElement(*f.right, element, def);
    case Filter::Kind::kOr:
      return MatchesElement(*f.left, element, def) || MatchesElement(*f.right, element, def);
    case Filter::Kind::kNot:
      return !MatchesElement(*f.left, element, def);
    case Filter::Kind::kValuePath:
      return false;
  }
  return false;
}

std::string AttrPath::Text() const {
  std::string out = urn.empty() ? attr : urn + ":" + attr;
  if (!sub.empty()) out += "." + sub;
  return out;
}

absl::StatusOr<std::unique_ptr<Filter>> ParseFilter(std::string_view text) {
  if (text.size() > kMaxFilterBytes) {
    return absl::InvalidArgumentError("filter: " + std::to_string(text.size()) +
                                      " bytes, the limit is " + std::to_string(kMaxFilterBytes));
  }
  return Parser(text).Parse();
}

bool Matches(const Filter& f, const Json& resource, Resource r) { return Eval(f, resource, r); }

std::optional<IndexedEq> FindIndexedEq(const Filter& f, Resource r) {
  if (f.kind == Filter::Kind::kAnd) {
    if (std::optional<IndexedEq> l = FindIndexedEq(*f.left, r)) return l;
    return FindIndexedEq(*f.right, r);
  }
  if (f.op != "eq" || !f.value.is_string()) return std::nullopt;
  if (f.kind != Filter::Kind::kCompare && f.kind != Filter::Kind::kValuePath) return std::nullopt;
  const Schema& core = CoreSchema(r);
  if (!f.path.urn.empty() && !SameName(f.path.urn, core.id)) return std::nullopt;
  const std::string attr = AsciiLower(f.path.attr), sub = AsciiLower(f.path.sub);
  const std::string value = f.value.get<std::string>();
  if (sub.empty() && f.kind == Filter::Kind::kCompare) {
    if (attr == "id" || attr == "externalid") return IndexedEq{attr, value};
    if (r == Resource::kUser && attr == "username") return IndexedEq{attr, value};
    if (r == Resource::kGroup && attr == "displayname") return IndexedEq{attr, value};
  }
  if (sub == "value" && r == Resource::kUser && attr == "emails")
    return IndexedEq{"emails.value", value};
  if (sub == "value" && r == Resource::kGroup && attr == "members")
    return IndexedEq{"members.value", value};
  return std::nullopt;
}

}  // namespace tessera::scim
