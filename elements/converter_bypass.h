/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Buffers past a chain of audio converters that have nothing to convert.
 *
 * dgtranscribebin puts audioconvert, audioresample and a mono capsfilter in
 * front of sttfailover so any audio goes in. Most live feeds already are
 * what comes out (S16LE mono at a rate Deepgram takes), and then each buffer
 * still walks three passthrough elements: at 1,000 streams that walk is a
 * measurable share of the bin's CPU (docs/performance.md, "The whole bin at
 * scale").
 *
 * Once a buffer has gone through the chain with every converter in
 * passthrough and the same caps on both ends, the ghost pad hands the next
 * buffers straight to `target`, clipped to the segment as audioresample
 * clips them. Events still take the chain, so caps, segments, GAPs and
 * flushes reach the converters and come out at `target` as before; a CAPS
 * event, or a RECONFIGURE going upstream through `target`, sends buffers
 * the long way again until the chain proves itself passthrough once more.
 */
#pragma once

#include <gst/gst.h>

#include <initializer_list>

namespace dgf {

/* Installs the bypass on `ghost` (a sink ghost pad whose target is the
 * first converter's sink pad) to `target` (the pad the last converter's
 * source pad is linked to). `converters` are GstBaseTransforms, in order. */
void converter_bypass_install(GstPad *ghost, GstPad *target,
                              std::initializer_list<GstElement *> converters);

} // namespace dgf
