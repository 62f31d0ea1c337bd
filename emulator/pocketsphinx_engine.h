/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "pocketsphinx" engine: real offline recognition with Debian's
 * libpocketsphinx (5prealpha API) and the pocketsphinx-en-us model. */
#pragma once

#include "engine.h"

namespace dgemu {

/* The default model directory (Debian's pocketsphinx-en-us). */
extern const char *const kPocketsphinxModelDir;

/* Loads the model from model_dir (empty: kPocketsphinxModelDir); nullptr with
 * *error set when it is missing or does not load. */
std::unique_ptr<Engine> make_pocketsphinx_engine(std::string *error,
                                                 const std::string &model_dir = {});

} // namespace dgemu
