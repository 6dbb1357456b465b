#define BOOST_TEST_MODULE graph
#include <boost/test/unit_test.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "server/graph/edges.h"
#include "server/store/store.h"
#include "tests/unit/temp_dir.h"

// The graph module on a real RocksDB in a temp dir: both directions of an edge, relation
// types that are prefixes of one another, load marks, relation references, and
// Neighbors' grouping and paging.

using namespace tessera;
using graph::Direction;
using graph::EdgeFact;

namespace {

class Graph {
 public:
  Graph() {
    store::StoreOptions o;
    o.block_cache_bytes = 4 << 20;
    o.write_buffer_bytes = 4 << 20;
    absl::StatusOr<std::unique_ptr<store::Store>> s = store::Store::Open(dir_.Sub("db"), o);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.status());
    store_ = *std::move(s);
  }

  // Applies `fill` to a fresh batch and commits it.
  template <typename Fill>
  void Write(Fill fill) {
    std::unique_ptr<store::Batch> batch = store_->NewBatch();
    fill(*batch);
    BOOST_REQUIRE(store_->Write(*batch).ok());
  }
  const store::Reader& reader() const { return store_->Latest(); }

 private:
  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

EdgeFact Edge(uint64_t from, const std::string& type, uint64_t to, const std::string& fragkey) {
  return {from, type, to, fragkey, "ident:" + std::to_string(to)};
}

// "to:fragkey" for each target, in the order returned.
std::vector<std::string> Names(const absl::StatusOr<std::vector<graph::Target>>& targets) {
  BOOST_REQUIRE_MESSAGE(targets.ok(), targets.status());
  std::vector<std::string> out;
  for (const graph::Target& t : *targets) out.push_back(std::to_string(t.to) + ":" + t.fragkey);
  return out;
}

// An identifier key as identity::IdentKey makes it: the value then 0x00, so no key is a
// prefix of another's (graph relies on it and does not check).
std::string IdentKey(const std::string& value) { return value + std::string(1, '\0'); }

std::vector<std::string> V(std::initializer_list<const char*> items) {
  return {items.begin(), items.end()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(Edges)

BOOST_AUTO_TEST_CASE(an_edge_is_walkable_from_both_ends_and_deleted_from_both) {
  Graph g;
  g.Write([](store::Batch& b) { graph::PutEdge(b, Edge(1, "reports_to", 2, "hr/E1")); });
  BOOST_TEST(Names(graph::OutEdges(g.reader(), 1, "reports_to")) == V({"2:hr/E1"}));
  BOOST_TEST(Names(graph::InEdges(g.reader(), 2, "reports_to")) == V({"1:hr/E1"}));
  BOOST_TEST(Names(graph::OutEdges(g.reader(), 2, "reports_to")).empty());
  absl::StatusOr<std::vector<graph::Target>> out = graph::OutEdges(g.reader(), 1, "reports_to");
  BOOST_REQUIRE(out.ok());
  BOOST_TEST(out->at(0).identkey == "ident:2");

  g.Write([](store::Batch& b) { graph::DeleteEdge(b, Edge(1, "reports_to", 2, "hr/E1")); });
  BOOST_TEST(Names(graph::OutEdges(g.reader(), 1, "reports_to")).empty());
  BOOST_TEST(Names(graph::InEdges(g.reader(), 2, "reports_to")).empty());
}

BOOST_AUTO_TEST_CASE(a_type_that_prefixes_another_reads_only_its_own_edges) {
  Graph g;
  g.Write([](store::Batch& b) {
    graph::PutEdge(b, Edge(1, "member", 7, "a/1"));
    graph::PutEdge(b, Edge(1, "member_of", 8, "a/1"));
  });
  BOOST_TEST(Names(graph::OutEdges(g.reader(), 1, "member")) == V({"7:a/1"}));
  BOOST_TEST(Names(graph::OutEdges(g.reader(), 1, "member_of")) == V({"8:a/1"}));
}

BOOST_AUTO_TEST_CASE(targets_come_in_id_order_with_every_stating_fragment) {
  Graph g;
  g.Write([](store::Batch& b) {
    graph::PutEdge(b, Edge(1, "knows", 300, "crm/c"));
    graph::PutEdge(b, Edge(1, "knows", 2, "hr/b"));
    graph::PutEdge(b, Edge(1, "knows", 2, "hr/a"));
    graph::PutEdge(b, Edge(1, "knows", 256, "hr/a"));  // 256 sorts after 2 (big-endian)
  });
  BOOST_TEST(Names(graph::OutEdges(g.reader(), 1, "knows")) ==
             V({"2:hr/a", "2:hr/b", "256:hr/a", "300:crm/c"}));
  graph::EdgeReader reader(g.reader());
  BOOST_TEST(Names(reader.Out(1, "knows")).size() == 4u);
  BOOST_TEST(Names(reader.In(2, "knows")) == V({"1:hr/a", "1:hr/b"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Load)

BOOST_AUTO_TEST_CASE(open_cases_count_each_case_once_whatever_the_relations) {
  Graph g;
  // Person 9 holds case 100 through two relations and case 200 through one; the
  // keys of relation "a" for 100 and 200 lie between the two marks of case 100.
  g.Write([](store::Batch& b) {
    graph::PutLoad(b, Edge(100, "a", 9, "hd/100"));
    graph::PutLoad(b, Edge(200, "a", 9, "hd/200"));
    graph::PutLoad(b, Edge(100, "b", 9, "hd/100"));
  });
  absl::StatusOr<size_t> n = graph::OpenCases(g.reader(), 9);
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == 2u);
  // Load marks are not edges.
  BOOST_TEST(Names(graph::OutEdges(g.reader(), 9, "a")).empty());

  g.Write([](store::Batch& b) {
    graph::DeleteLoad(b, Edge(100, "a", 9, "hd/100"));
    graph::DeleteLoad(b, Edge(100, "b", 9, "hd/100"));
  });
  n = graph::OpenCases(g.reader(), 9);
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == 1u);
  n = graph::OpenCases(g.reader(), 10);
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Refs)

BOOST_AUTO_TEST_CASE(refs_to_an_identifier_list_every_fragment_and_type_and_delete) {
  Graph g;
  g.Write([](store::Batch& b) {
    graph::PutRef(b, IdentKey("e:boss@x"), "hr/E2", "reports_to");
    graph::PutRef(b, IdentKey("e:boss@x"), "hr/E1", "reports_to");
    graph::PutRef(b, IdentKey("e:boss@x"), "crm/C1", "account_manager");
    graph::PutRef(b, IdentKey("e:boss@xy"), "hr/E9", "reports_to");  // a longer identifier
  });
  absl::StatusOr<std::vector<graph::Ref>> refs = graph::RefsTo(g.reader(), IdentKey("e:boss@x"));
  BOOST_REQUIRE(refs.ok());
  std::set<std::string> got;
  for (const graph::Ref& r : *refs) got.insert(r.fragkey + " " + r.type);
  BOOST_TEST(got == (std::set<std::string>{"hr/E1 reports_to", "hr/E2 reports_to",
                                           "crm/C1 account_manager"}));

  g.Write(
      [](store::Batch& b) { graph::DeleteRef(b, IdentKey("e:boss@x"), "hr/E2", "reports_to"); });
  refs = graph::RefsTo(g.reader(), IdentKey("e:boss@x"));
  BOOST_REQUIRE(refs.ok());
  BOOST_TEST(refs->size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Neighbors)

namespace {

void FillStar(Graph& g) {
  g.Write([](store::Batch& b) {
    graph::PutEdge(b, Edge(5, "reports_to", 1, "hr/E5"));
    graph::PutEdge(b, Edge(5, "reports_to", 1, "ldap/E5"));  // same edge, second source
    graph::PutEdge(b, Edge(6, "reports_to", 5, "hr/E6"));
    graph::PutEdge(b, Edge(7, "reports_to", 5, "hr/E7"));
    graph::PutEdge(b, Edge(5, "member_of", 40, "ldap/E5"));
  });
}

// "dir type other [fragkeys]" per neighbour, walking every page of `q`.
std::vector<std::string> Walk(const Graph& g, graph::NeighborQuery q, size_t* pages) {
  std::vector<std::string> out;
  *pages = 0;
  do {
    absl::StatusOr<graph::NeighborPage> page = graph::Neighbors(g.reader(), q);
    BOOST_REQUIRE_MESSAGE(page.ok(), page.status());
    ++*pages;
    BOOST_REQUIRE(*pages < 100);
    for (const graph::Neighbor& n : page->neighbors) {
      std::string line =
          (n.dir == Direction::kOut ? "out " : "in ") + n.type + " " + std::to_string(n.other);
      for (const std::string& f : n.fragkeys) line += " " + f;
      out.push_back(line);
    }
    q.page_token = page->next_page_token;
  } while (!q.page_token.empty());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(one_entry_per_direction_type_and_profile_with_its_fragments) {
  Graph g;
  FillStar(g);
  graph::NeighborQuery q;
  q.id = 5;
  size_t pages = 0;
  BOOST_TEST(Walk(g, q, &pages) == V({"out member_of 40 ldap/E5", "out reports_to 1 hr/E5 ldap/E5",
                                      "in reports_to 6 hr/E6", "in reports_to 7 hr/E7"}));
  BOOST_TEST(pages == 1u);
}

BOOST_AUTO_TEST_CASE(pages_of_one_return_every_neighbour_once) {
  Graph g;
  FillStar(g);
  graph::NeighborQuery q;
  q.id = 5;
  q.limit = 1;
  size_t pages = 0;
  const std::vector<std::string> all = Walk(g, q, &pages);
  BOOST_TEST(all == V({"out member_of 40 ldap/E5", "out reports_to 1 hr/E5 ldap/E5",
                       "in reports_to 6 hr/E6", "in reports_to 7 hr/E7"}));
  BOOST_TEST(pages >= 4u);
}

BOOST_AUTO_TEST_CASE(type_and_direction_filters) {
  Graph g;
  FillStar(g);
  graph::NeighborQuery q;
  q.id = 5;
  q.type = "reports_to";
  q.direction = Direction::kIn;
  size_t pages = 0;
  BOOST_TEST(Walk(g, q, &pages) == V({"in reports_to 6 hr/E6", "in reports_to 7 hr/E7"}));
  q.direction = Direction::kOut;
  BOOST_TEST(Walk(g, q, &pages) == V({"out reports_to 1 hr/E5 ldap/E5"}));
}

BOOST_AUTO_TEST_CASE(a_page_token_from_elsewhere_is_invalid_argument) {
  Graph g;
  FillStar(g);
  graph::NeighborQuery q;
  q.id = 5;
  q.page_token = "not a token of this query";
  absl::StatusOr<graph::NeighborPage> page = graph::Neighbors(g.reader(), q);
  BOOST_TEST(page.status().code() == absl::StatusCode::kInvalidArgument);
}

BOOST_AUTO_TEST_SUITE_END()
