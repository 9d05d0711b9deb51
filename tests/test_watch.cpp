// `clipdex index --watch` and `serve --watch` as running processes: a file added, a file
// changed (other content under the same name) and a file deleted are all reflected in the
// library, read with the catalog's own reader; SIGTERM stops the watcher cleanly.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "pipeline/content_hash.h"
#include "core/mapped_file.h"
#include "store/catalog.h"
#include "test_util.h"

extern char** environ;

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

// A clipdex process in the background, stopped with SIGTERM at the end of the test.
class Background {
 public:
  Background(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> argv{CLIPDEX_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> raw;
    for (auto& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    EXPECT_EQ(posix_spawn(&pid_, raw[0], &fa, nullptr, raw.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  // SIGTERM, then the exit status (-1 when it had to be killed).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 300; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
    return -1;
  }
  ~Background() { stop(); }

 private:
  pid_t pid_ = 0;
};

// Polls until `done` holds (reading the catalog fresh each time), for up to 60 s.
bool eventually(const std::string& db, const std::function<bool(store::Catalog&)>& done) {
  for (int i = 0; i < 600; ++i) {
    if (fs::exists(db)) {
      try {
        store::Catalog c(db);
        if (done(c)) return true;
      } catch (const std::exception&) {
        // the writer may be creating it
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::string content_hash_of(const std::string& path) { return pipeline::content_hash(read_file(path)); }

struct WatchCase {
  std::string dir, photos, db;
};

WatchCase make_case(const std::string& name) {
  WatchCase c;
  c.dir = test::scratch_dir(name);
  c.photos = c.dir + "/photos";
  c.db = c.dir + "/lib.db";
  fs::create_directories(c.photos + "/sub");
  for (const char* f : {"astronaut.png", "camera.png"}) fs::copy_file(test::shared_path("fixtures/images/") + f, c.photos + "/" + f);
  return c;
}

// Adds, changes and deletes files under a watched folder and waits for the library to agree.
void exercise(const WatchCase& c) {
  const std::string fixtures = test::shared_path("fixtures/images/");
  ASSERT_TRUE(eventually(c.db, [](store::Catalog& cat) { return cat.stats().contents == 2; })) << "first pass";
  // Added (in a folder that existed) and added in a folder created after watching began.
  fs::copy_file(fixtures + "rocket.jpg", c.photos + "/sub/rocket.jpg");
  fs::create_directories(c.photos + "/new/deeper");
  fs::copy_file(fixtures + "coffee.png", c.photos + "/new/deeper/coffee.png");
  ASSERT_TRUE(eventually(c.db, [&](store::Catalog& cat) {
    return cat.content_of_path(c.photos + "/sub/rocket.jpg") && cat.content_of_path(c.photos + "/new/deeper/coffee.png");
  })) << "added files";
  // Changed: other content written over camera.png (via a rename, as editors save).
  const std::string expected = content_hash_of(fixtures + "chelsea.png");
  fs::copy_file(fixtures + "chelsea.png", c.photos + "/.tmp-save");
  fs::rename(c.photos + "/.tmp-save", c.photos + "/camera.png");
  ASSERT_TRUE(eventually(c.db, [&](store::Catalog& cat) {
    const auto id = cat.content_of_path(c.photos + "/camera.png");
    return id && cat.content(*id)->hash == expected;
  })) << "changed file";
  // Deleted.
  fs::remove(c.photos + "/astronaut.png");
  ASSERT_TRUE(eventually(c.db, [&](store::Catalog& cat) { return !cat.content_of_path(c.photos + "/astronaut.png"); }))
      << "deleted file";
  store::Catalog cat(c.db);
  EXPECT_EQ(cat.stats().contents, 3);  // rocket, coffee, the new camera.png; the old camera content is gone
}

}  // namespace

TEST(Watch, IndexWatchFollowsAddedChangedAndDeletedFiles) {
  const auto c = make_case("watch_index");
  Background proc({"index", c.photos, "--watch", "--debounce", "0.3", "--quiet", "--precision", "fp32", "--db", c.db,
                   "--model", test::shared_path("fixtures/models/vit-tiny/hf")},
                  c.dir + "/log.txt");
  exercise(c);
  EXPECT_EQ(proc.stop(), 0) << read_file(c.dir + "/log.txt");
  EXPECT_NE(read_file(c.dir + "/log.txt").find("stopped watching"), std::string::npos);
}

TEST(Watch, ServeWatchKeepsTheLibraryCurrentWhileServing) {
  const auto c = make_case("watch_serve");
  {  // serve opens an existing library
    const auto r = test::run_cli("index " + c.photos + " --quiet --precision fp32 --db " + c.db + " --model " +
                                 test::shared_path("fixtures/models/vit-tiny/hf"));
    ASSERT_EQ(r.exit_code, 0);
  }
  Background proc({"serve", "--port", "0", "--watch", c.photos, "--debounce", "0.3", "--precision", "fp32", "--db", c.db,
                   "--model", test::shared_path("fixtures/models/vit-tiny/hf")},
                  c.dir + "/log.txt");
  exercise(c);
  EXPECT_EQ(proc.stop(), 0) << read_file(c.dir + "/log.txt");
}
