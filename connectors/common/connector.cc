#include "connectors/common/connector.h"

#include <map>

namespace tessera::connect {
namespace {

std::map<std::string, ConnectorKind, std::less<>>& Registry() {
  static auto* kinds = new std::map<std::string, ConnectorKind, std::less<>>();
  return *kinds;
}

}  // namespace

bool RegisterConnector(ConnectorKind kind) {
  const std::string name = kind.name;
  return Registry().emplace(name, std::move(kind)).second;
}

const ConnectorKind* FindConnector(std::string_view name) {
  auto it = Registry().find(name);
  return it == Registry().end() ? nullptr : &it->second;
}

std::vector<const ConnectorKind*> AllConnectors() {
  std::vector<const ConnectorKind*> out;
  for (const auto& [name, kind] : Registry()) out.push_back(&kind);
  return out;
}

bool DefaultMapping(const std::string& kind, Mapping* out) {
  const ConnectorKind* k = FindConnector(kind);
  if (k == nullptr) return false;
  *out = k->default_mapping();
  return true;
}

}  // namespace tessera::connect
