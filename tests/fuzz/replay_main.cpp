/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replays fuzz inputs without libFuzzer: a main() for a target's
 * LLVMFuzzerTestOneInput, so the regular (gcc) build re-runs every committed
 * corpus file and regression input as an ordinary test.
 *
 * Usage: fuzz-replay-TARGET PATH...   (files, or directories of files)
 * A directory that does not exist is skipped (a target may have no
 * regressions yet); hidden files and README* are not inputs. Fails when no
 * input at all was run. A failing input aborts inside the target, after the
 * "replaying PATH" line that names it.
 */
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <dirent.h>
#include <sys/stat.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

bool is_dir(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::vector<std::string> inputs_in(const std::string &dir) {
  std::vector<std::string> out;
  DIR *d = opendir(dir.c_str());
  if (!d)
    return out;
  while (struct dirent *e = readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.' || name.rfind("README", 0) == 0)
      continue;
    std::string path = dir + "/" + name;
    if (!is_dir(path))
      out.push_back(path);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

int main(int argc, char **argv) {
  size_t count = 0;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    std::vector<std::string> files;
    if (is_dir(arg)) {
      files = inputs_in(arg);
    } else if (exists(arg)) {
      files.push_back(arg);
    } else {
      std::printf("skipping %s (does not exist)\n", arg.c_str());
      continue;
    }
    for (const std::string &path : files) {
      std::ifstream f(path, std::ios::binary);
      if (!f) {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        return 1;
      }
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                 std::istreambuf_iterator<char>());
      std::printf("replaying %s (%zu bytes)\n", path.c_str(), bytes.size());
      std::fflush(stdout);
      /* A real pointer even for empty inputs, as libFuzzer passes. */
      static const uint8_t empty = 0;
      LLVMFuzzerTestOneInput(bytes.empty() ? &empty : bytes.data(), bytes.size());
      count++;
    }
  }
  std::printf("%zu inputs replayed\n", count);
  return count > 0 ? 0 : 1;
}
