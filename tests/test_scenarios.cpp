#include "test_scenarios.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "core/mapped_file.h"
#include "pipeline/library.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace clipdex::test {

void make_images(const std::string& dir, int first, int n) {
  fs::create_directories(dir);
  const auto& files = fixture_image_files();
  for (int i = first; i < first + n; ++i) {
    const std::string& f = files[static_cast<size_t>(i) % files.size()];
    std::ofstream(dir + "/" + std::to_string(i) + "-" + f, std::ios::binary)
        << read_file(shared_path("fixtures/images/" + f)) << "#" << i;
  }
}

std::string copy_fixture_photos(const std::string& dir) {
  for (const char* sub : {"/photos/a", "/photos/b/c"}) {
    fs::create_directories(dir + sub);
    for (const auto& f : fixture_image_files()) fs::copy_file(shared_path("fixtures/images/" + f), dir + sub + "/" + f);
  }
  return dir + "/photos";
}

std::map<std::string, std::pair<std::string, std::vector<float>>> library_files(const std::string& db) {
  pipeline::Library lib(db, pipeline::Library::Open::Existing);
  std::map<std::string, std::pair<std::string, std::vector<float>>> out;
  for (const auto& [path, rec] : lib.catalog().files()) {
    EXPECT_EQ(rec.status, "indexed") << path;
    out[path] = {lib.catalog().content(rec.content_id)->hash, *lib.catalog().embedding(rec.content_id)};
  }
  return out;
}

Process::Process(const std::string& args) {
  static std::atomic<int> made{0};  // scratch_dir empties its folder: one per process
  log_ = scratch_dir("process-" + std::to_string(made++)) + "/stderr.txt";
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe");
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);
    close(out[0]);
    const std::string cmd = "exec " + std::string(CLIPDEX_BINARY) + " " + args + " 2>" + log_;
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  out_ = fdopen(out[0], "r");
}

Process::~Process() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_) fclose(out_);
}

void Process::signal(int sig) const { kill(pid_, sig); }

int Process::stop(int sig, double seconds) {
  if (sig) kill(pid_, sig);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

std::string Process::stderr_text() const { return fs::exists(log_) ? read_file(log_) : ""; }

Serve::Serve(const std::string& db, const std::string& extra) : Process("serve --port 0 --db " + db + " " + extra) {
  char line[512] = {0};
  if (fgets(line, sizeof line, out())) {
    const std::string first = line;
    port = std::stoi(first.substr(first.rfind(':') + 1));
  }
}

httplib::Client Serve::client() const {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(30, 0);
  return c;
}

}  // namespace clipdex::test
