// Store: the MergeSorter behind bulk loads (bulk.h).

#include "server/store/bulk.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <queue>

#include "rocksdb/sst_file_writer.h"
#include "server/store/coding.h"

namespace tessera::store {
namespace {

// Per entry held in memory beyond its bytes: the hash slot and two string headers.
constexpr size_t kEntryOverhead = 80;
constexpr size_t kIoBufferBytes = 1 << 20;

std::string ErrnoText(const std::string& what, const std::string& path) {
  return what + " '" + path + "': " + std::strerror(errno);
}

// Reads back one sorted run: varint key length, key, varint operand length, operand.
class RunReader {
 public:
  static absl::StatusOr<std::unique_ptr<RunReader>> Open(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return absl::InternalError(ErrnoText("open bulk run", path));
    return std::unique_ptr<RunReader>(new RunReader(path, f));
  }
  ~RunReader() { std::fclose(f_); }

  // Moves to the next entry; false at the end or on an error (see status()).
  bool Next() {
    uint64_t key_size = 0, operand_size = 0;
    if (!Varint(&key_size, /*at_start=*/true)) return false;
    if (!Bytes(key_size, &key_) || !Varint(&operand_size, false) ||
        !Bytes(operand_size, &operand_)) {
      if (status_.ok()) status_ = absl::DataLossError("bulk run '" + path_ + "' is truncated");
      return false;
    }
    return true;
  }
  std::string_view key() const { return key_; }
  std::string_view operand() const { return operand_; }
  const absl::Status& status() const { return status_; }

 private:
  RunReader(std::string path, std::FILE* f)
      : path_(std::move(path)), f_(f), buffer_(kIoBufferBytes) {
    std::setvbuf(f_, buffer_.data(), _IOFBF, buffer_.size());
  }

  bool Varint(uint64_t* v, bool at_start) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const int c = getc_unlocked(f_);
      if (c == EOF) {
        if (std::ferror(f_)) status_ = absl::InternalError(ErrnoText("read bulk run", path_));
        if (!at_start || shift > 0)
          status_.Update(absl::DataLossError("bulk run '" + path_ + "' is truncated"));
        return false;
      }
      *v |= static_cast<uint64_t>(c & 0x7f) << shift;
      if ((c & 0x80) == 0) return true;
    }
    status_ = absl::DataLossError("bulk run '" + path_ + "' has a bad length");
    return false;
  }
  bool Bytes(uint64_t n, std::string* out) {
    if (n > (64u << 20)) return false;
    out->resize(n);
    return n == 0 || std::fread(out->data(), 1, n, f_) == n;
  }

  const std::string path_;
  std::FILE* f_;
  std::vector<char> buffer_;  // stdio's buffer: outlives f_'s use of it
  std::string key_, operand_;
  absl::Status status_;
};

// The operands still held in memory, in key order: the newest run.
class HeldCursor {
 public:
  explicit HeldCursor(const absl::flat_hash_map<std::string, std::string>& held) {
    entries_.reserve(held.size());
    for (const auto& entry : held) entries_.push_back(&entry);
    std::sort(entries_.begin(), entries_.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
  }
  bool Next() { return ++at_ < entries_.size(); }
  std::string_view key() const { return entries_[at_]->first; }
  std::string_view operand() const { return entries_[at_]->second; }

 private:
  std::vector<const std::pair<const std::string, std::string>*> entries_;
  size_t at_ = static_cast<size_t>(-1);
};

// Writes keys, in order, into SST files that roll over at `file_bytes`.
class SstOutput {
 public:
  SstOutput(const rocksdb::Options& options, std::string dir, uint64_t file_bytes,
            Store::BulkFigures* figures)
      : options_(options), dir_(std::move(dir)), file_bytes_(file_bytes), figures_(figures) {}

  absl::Status Add(std::string_view key, std::string_view value, bool merge) {
    if (writer_ != nullptr && writer_->FileSize() >= file_bytes_) {
      if (absl::Status s = Close(); !s.ok()) return s;
    }
    if (writer_ == nullptr) {
      char name[32];
      std::snprintf(name, sizeof name, "/out-%06zu.sst", files_.size() + 1);
      files_.push_back(dir_ + name);
      writer_ = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), options_);
      if (rocksdb::Status s = writer_->Open(files_.back()); !s.ok()) {
        return absl::InternalError("bulk load: create '" + files_.back() + "': " + s.ToString());
      }
    }
    const rocksdb::Slice k(key.data(), key.size()), v(value.data(), value.size());
    rocksdb::Status s = merge ? writer_->Merge(k, v) : writer_->Put(k, v);
    if (!s.ok())
      return absl::InternalError("bulk load: write '" + files_.back() + "': " + s.ToString());
    ++figures_->keys;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> Done() {
    if (absl::Status s = Close(); !s.ok()) return s;
    return std::move(files_);
  }

 private:
  absl::Status Close() {
    if (writer_ == nullptr) return absl::OkStatus();
    rocksdb::ExternalSstFileInfo info;
    rocksdb::Status s = writer_->Finish(&info);
    writer_.reset();
    if (!s.ok())
      return absl::InternalError("bulk load: finish '" + files_.back() + "': " + s.ToString());
    ++figures_->files;
    figures_->sst_bytes += info.file_size;
    return absl::OkStatus();
  }

  const rocksdb::Options& options_;
  const std::string dir_;
  const uint64_t file_bytes_;
  Store::BulkFigures* figures_;
  std::unique_ptr<rocksdb::SstFileWriter> writer_;
  std::vector<std::string> files_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<MergeSorter>> MergeSorter::Create(std::string dir,
                                                                 const MergeOperator& op,
                                                                 size_t memory_bytes) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!std::filesystem::create_directories(dir, ec) || ec) {
    return absl::InternalError("bulk load: cannot create '" + dir + "': " + ec.message());
  }
  return std::unique_ptr<MergeSorter>(new MergeSorter(std::move(dir), op, memory_bytes));
}

MergeSorter::~MergeSorter() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

absl::Status MergeSorter::Add(std::string_view key, std::string_view operand) {
  ++operands_;
  // No string is made for a key already held.
  auto it = held_.find(absl::string_view(key.data(), key.size()));
  if (it == held_.end()) {
    held_.emplace(std::string(key), std::string(operand));
    held_bytes_ += kEntryOverhead + key.size() + operand.size();
  } else {
    const size_t before = it->second.size();
    if (!op_.PartialMergeInto(key, &it->second, operand)) {
      // The operator cannot combine them: what is held goes to a run first, so the
      // two stay in order.
      if (absl::Status s = Spill(); !s.ok()) return s;
      return Add(key, operand);
    }
    held_bytes_ += it->second.size() - std::min(before, it->second.size());
  }
  if (held_bytes_ > memory_bytes_) return Spill();
  return absl::OkStatus();
}

absl::Status MergeSorter::Spill() {
  if (held_.empty()) return absl::OkStatus();
  char name[32];
  std::snprintf(name, sizeof name, "/run-%06zu", runs_.size() + 1);
  const std::string path = dir_ + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return absl::InternalError(ErrnoText("bulk load: create run", path));
  std::vector<char> buffer(kIoBufferBytes);
  std::setvbuf(f, buffer.data(), _IOFBF, buffer.size());
  HeldCursor cursor(held_);
  std::string header;
  bool ok = true;
  while (ok && cursor.Next()) {
    header.clear();
    PutVarint64(header, cursor.key().size());
    ok = std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
         std::fwrite(cursor.key().data(), 1, cursor.key().size(), f) == cursor.key().size();
    header.clear();
    PutVarint64(header, cursor.operand().size());
    ok = ok && std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
         std::fwrite(cursor.operand().data(), 1, cursor.operand().size(), f) ==
             cursor.operand().size();
  }
  ok = ok && std::fflush(f) == 0;
  const long size = ok ? std::ftell(f) : 0;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) return absl::InternalError(ErrnoText("bulk load: write run", path));
  run_bytes_ += static_cast<uint64_t>(size);
  runs_.push_back(path);
  held_.clear();
  held_bytes_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> MergeSorter::Finish(const rocksdb::Options& options,
                                                             bool base_empty, uint64_t file_bytes,
                                                             Store::BulkFigures* figures) {
  figures->operands += operands_;
  figures->runs += runs_.size();
  figures->run_bytes += run_bytes_;
  std::vector<std::unique_ptr<RunReader>> readers;
  for (const std::string& path : runs_) {
    absl::StatusOr<std::unique_ptr<RunReader>> r = RunReader::Open(path);
    if (!r.ok()) return r.status();
    readers.push_back(*std::move(r));
  }
  HeldCursor held(held_);
  // Sources 0..n-1 are the runs, oldest first; n is what memory holds, the newest.
  const size_t n = readers.size();
  auto key_of = [&](size_t i) { return i < n ? readers[i]->key() : held.key(); };
  auto operand_of = [&](size_t i) { return i < n ? readers[i]->operand() : held.operand(); };
  auto advance = [&](size_t i) { return i < n ? readers[i]->Next() : held.Next(); };
  // The smallest key on top; among equal keys, the oldest source.
  auto later = [&](size_t a, size_t b) {
    const int c = key_of(a).compare(key_of(b));
    return c != 0 ? c > 0 : a > b;
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heap(later);
  for (size_t i = 0; i <= n; ++i) {
    if (advance(i)) heap.push(i);
  }
  for (size_t i = 0; i < n; ++i) {
    if (!readers[i]->status().ok()) return readers[i]->status();
  }

  SstOutput out(options, dir_, file_bytes, figures);
  std::string key, combined, value;
  while (!heap.empty()) {
    size_t i = heap.top();
    heap.pop();
    key.assign(key_of(i));
    combined.assign(operand_of(i));
    for (;;) {
      if (advance(i)) {
        heap.push(i);
      } else if (i < n && !readers[i]->status().ok()) {
        return readers[i]->status();
      }
      if (heap.empty() || key_of(heap.top()) != key) break;
      i = heap.top();
      heap.pop();
      if (!op_.PartialMergeInto(key, &combined, operand_of(i))) {
        return absl::InternalError("bulk load: the merge operator cannot combine two operands");
      }
    }
    if (base_empty) {
      value.clear();
      const std::vector<std::string_view> operands = {combined};
      if (!op_.FullMerge(key, nullptr, operands, &value)) {
        return absl::DataLossError("bulk load: a collected operand does not merge");
      }
      if (op_.IsEmpty(value)) continue;
      if (absl::Status s = out.Add(key, value, /*merge=*/false); !s.ok()) return s;
    } else {
      if (absl::Status s = out.Add(key, combined, /*merge=*/true); !s.ok()) return s;
    }
  }
  return out.Done();
}

}  // namespace tessera::store
