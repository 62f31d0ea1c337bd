/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gst-deepgram-failover: plugin registration.
 *
 * Every element registers here, one GST_ELEMENT_REGISTER each, OR-ed together
 * the way gst-plugins-good's soup plugin does: the plugin loads if any element
 * registered.
 */
#include <config.h>

#include <gst/gst.h>

#include "gstdgbatchsink.h"
#include "gstdgstreamsink.h"
#include "gstdgtranscribebin.h"
#include "gststtcea608enc.h"
#include "gststtfailover.h"

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(dgstreamsink, plugin);
  ok |= GST_ELEMENT_REGISTER(dgbatchsink, plugin);
  ok |= GST_ELEMENT_REGISTER(sttfailover, plugin);
  ok |= GST_ELEMENT_REGISTER(dgtranscribebin, plugin);
  ok |= GST_ELEMENT_REGISTER(sttcea608enc, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, deepgramfailover,
                  "Deepgram speech-to-text that survives outages: live streaming, "
                  "pre-recorded batch and a zero-loss failover between them",
                  plugin_init, PACKAGE_VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
