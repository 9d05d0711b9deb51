#pragma once
namespace clipdex::server {
// The single-file web page served at "/" (src/server/web/index.html, embedded at build time).
const char* web_page();
}  // namespace clipdex::server
