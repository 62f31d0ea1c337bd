/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttcea608enc: timed caption text (sttfailover's text pad, dgtranscribebin's
 * src pad) to CEA-608 closed captions, one byte pair per video frame, for
 * ccconverter ! cccombiner. Reference: docs/broadcast-captions.md. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_STT_CEA608_ENC (gst_stt_cea608_enc_get_type())
G_DECLARE_FINAL_TYPE(GstSttCea608Enc, gst_stt_cea608_enc, GST, STT_CEA608_ENC, GstElement)

/* The `mode` property. */
typedef enum {
  GST_STT_CEA608_ENC_MODE_POP_ON = 0,
  GST_STT_CEA608_ENC_MODE_ROLL_UP_2 = 1,
  GST_STT_CEA608_ENC_MODE_ROLL_UP_3 = 2,
  GST_STT_CEA608_ENC_MODE_ROLL_UP_4 = 3,
} GstSttCea608EncMode;
#define GST_TYPE_STT_CEA608_ENC_MODE (gst_stt_cea608_enc_mode_get_type())
GType gst_stt_cea608_enc_mode_get_type(void);

/* The `channel` property: CC1 and CC2 are field 1, CC3 and CC4 field 2. */
typedef enum {
  GST_STT_CEA608_ENC_CHANNEL_CC1 = 0,
  GST_STT_CEA608_ENC_CHANNEL_CC2 = 1,
  GST_STT_CEA608_ENC_CHANNEL_CC3 = 2,
  GST_STT_CEA608_ENC_CHANNEL_CC4 = 3,
} GstSttCea608EncChannel;
#define GST_TYPE_STT_CEA608_ENC_CHANNEL (gst_stt_cea608_enc_channel_get_type())
GType gst_stt_cea608_enc_channel_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(sttcea608enc);

G_END_DECLS
