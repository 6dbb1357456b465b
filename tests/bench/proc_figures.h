#pragma once

// What the benches read about the tesserad they measure: its CPU time and memory from
// /proc, and RocksDB's write volume from Admin.Stats.

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace tessera::bench {

struct ProcFigures {
  double cpu_seconds = 0;  // user + system, all threads, since the process started
  uint64_t rss_kb = 0;     // resident now
  uint64_t peak_rss_kb = 0;
};

// Zeroes when the process is gone.
inline ProcFigures ReadProc(pid_t pid) {
  ProcFigures f;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream status(dir + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) f.peak_rss_kb = std::stoull(line.substr(6));
    if (line.rfind("VmRSS:", 0) == 0) f.rss_kb = std::stoull(line.substr(6));
  }
  // Fields 14 and 15 of /proc/PID/stat, after the command in parentheses (which may
  // hold spaces): utime and stime in clock ticks.
  std::ifstream stat(dir + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t close = all.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(all.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    f.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return f;
}

inline double Mib(uint64_t kb) { return static_cast<double>(kb) / 1024.0; }

// Compaction's write amplification over an interval: table bytes compactions wrote ÷
// table bytes flushes wrote (0 before any flush).
inline double WriteAmp(uint64_t flushed, uint64_t compacted) {
  return flushed == 0 ? 0 : static_cast<double>(compacted) / static_cast<double>(flushed);
}

}  // namespace tessera::bench
