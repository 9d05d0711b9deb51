#pragma once
// Helpers for tests that build libraries and run clipdex processes beside each other: folders of
// images to index, what a library holds, background processes that can be signalled or killed,
// `clipdex serve` on a free port.
#include <httplib.h>
#include <signal.h>
#include <sys/types.h>

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace clipdex::test {

// n distinct image files DIR/<i>-<fixture name> for i in [first, first + n): fixture images with a
// unique trailing byte string (decoders ignore it), so each is its own content.
void make_images(const std::string& dir, int first, int n);

// The fixture photos twice, in DIR/photos/a and DIR/photos/b/c (16 files, 8 contents); returns
// DIR/photos.
std::string copy_fixture_photos(const std::string& dir);

// path -> (content hash, embedding) of every file the library at DB (a path or URL) holds; every
// one must be indexed (not failed).
std::map<std::string, std::pair<std::string, std::vector<float>>> library_files(const std::string& db);

// `clipdex ARGS` in the background: stdout to a pipe (out()), stderr to a file; killed with
// SIGKILL if still running when destroyed.
class Process {
 public:
  explicit Process(const std::string& args);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  FILE* out() const { return out_; }
  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Sends `sig` (none when 0) and waits up to `seconds` for the exit; returns the exit code
  // (128 + signal when killed), or -1 if it is still running.
  int stop(int sig = SIGTERM, double seconds = 30);
  std::string stderr_text() const;

 private:
  std::string log_;
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

// `clipdex serve --port 0 --db DB EXTRA`; port is the one it printed (-1 if it printed none).
class Serve : public Process {
 public:
  explicit Serve(const std::string& db, const std::string& extra = "");
  httplib::Client client() const;
  int port = -1;
};

}  // namespace clipdex::test
