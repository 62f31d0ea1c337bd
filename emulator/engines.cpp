/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* make_engine: the engine registry (engine.h). */
#include "engine.h"
#include "sequence_engine.h"

#ifdef DGEMU_HAVE_POCKETSPHINX
#include "pocketsphinx_engine.h"
#endif

namespace dgemu {

std::unique_ptr<Engine> make_engine(const std::string &name, std::string *error) {
  std::string ignored;
  std::string &err = error ? *error : ignored;
  if (name == "sequence")
    return std::make_unique<SequenceEngine>();
  if (name == "pocketsphinx") {
#ifdef DGEMU_HAVE_POCKETSPHINX
    return make_pocketsphinx_engine(&err);
#else
    err = "engine 'pocketsphinx' is unavailable: dg-emulator was built without libpocketsphinx "
          "(install libpocketsphinx-dev and pocketsphinx-en-us, then reconfigure with "
          "-Dpocketsphinx=enabled)";
    return nullptr;
#endif
  }
  err = "unknown engine '" + name + "' (known: sequence, pocketsphinx)";
  return nullptr;
}

} // namespace dgemu
