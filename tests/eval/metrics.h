#pragma once

// Ranking quality measures as trec_eval computes them: binary relevance (grade > 0)
// for MAP, MRR, P@5 and R@10; graded nDCG@10 (gain = grade, log2 discount).

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace tessera::eval {

struct Metrics {
  double map = 0, mrr = 0, ndcg10 = 0, p5 = 0, r10 = 0;
  size_t queries = 0;

  void Add(const std::vector<std::string>& ranked, const std::map<std::string, int>& grades) {
    size_t relevant = 0;
    for (const auto& [id, g] : grades) relevant += g > 0 ? 1 : 0;
    if (relevant == 0) return;
    ++queries;
    double ap = 0, dcg = 0, first = 0;
    size_t hits = 0;
    for (size_t i = 0; i < ranked.size(); ++i) {
      auto it = grades.find(ranked[i]);
      const int g = it == grades.end() ? 0 : it->second;
      if (g <= 0) continue;
      ++hits;
      ap += static_cast<double>(hits) / static_cast<double>(i + 1);
      if (first == 0) first = 1.0 / static_cast<double>(i + 1);
      if (i < 10) dcg += g / std::log2(static_cast<double>(i) + 2);
      if (i < 5) p5 += 0.2;
      if (i < 10) r10 += 1.0 / static_cast<double>(relevant);
    }
    std::vector<int> ideal;
    for (const auto& [id, g] : grades) {
      if (g > 0) ideal.push_back(g);
    }
    std::sort(ideal.rbegin(), ideal.rend());
    double idcg = 0;
    for (size_t i = 0; i < ideal.size() && i < 10; ++i)
      idcg += ideal[i] / std::log2(static_cast<double>(i) + 2);
    map += ap / static_cast<double>(relevant);
    mrr += first;
    ndcg10 += idcg > 0 ? dcg / idcg : 0;
  }

  // Means over the queries added.
  Metrics Mean() const {
    Metrics m = *this;
    const double n = queries > 0 ? static_cast<double>(queries) : 1;
    m.map /= n, m.mrr /= n, m.ndcg10 /= n, m.p5 /= n, m.r10 /= n;
    return m;
  }
};

}  // namespace tessera::eval
