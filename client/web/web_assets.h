#pragma once

// The web console's files (client/web), embedded in tesserad at build time by
// embed.cmake: tesserad serves them from memory and reads nothing from the disk.

#include <cstddef>

namespace tessera::web {

struct Asset {
  const char* path;          // relative to client/web: "index.html", "app.js"
  const char* content_type;  // "text/javascript; charset=utf-8"
  const unsigned char* data;
  size_t size;
};

// Every file, then an entry whose path is null.
extern const Asset kAssets[];

}  // namespace tessera::web
