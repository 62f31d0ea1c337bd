/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: fault injection model, JSON timeline parser and controller.
 *
 * A fault is a JSON object (see docs/emulator.md for the full format):
 *
 *   {"type":"refuse","status":503,"count":2}
 *   {"type":"close","at":5,"code":1011,"reason":"NET-0000","after_s":1.5}
 *   {"type":"outage","api":"live","start":5,"duration":10}
 *
 * `at` (alias `start`) is seconds on the emulator clock: from a --faults file
 * it counts from emulator start, from the control endpoint it counts from
 * "now". The clock is injectable and can be advanced, so tests never wait
 * for wall time. The controller is thread-safe; the server polls it.
 */
#pragma once

#include <json-glib/json-glib.h>

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace dgemu {

enum class FaultType {
  Refuse,     /* live handshake refused with an HTTP status */
  Close,      /* live connection closed with a close frame (after T s or N bytes) */
  Stall,      /* live connection stays open, reads audio, answers nothing */
  Drop,       /* live TCP connection dropped without a close frame */
  Delay,      /* live messages delayed by ms */
  Malformed,  /* live text frames replaced by broken JSON */
  BatchError, /* pre-recorded request answered with an error status */
  BatchDelay, /* pre-recorded response delayed by ms */
  Outage,     /* window: refuse live handshakes / fail batch, drop open live connections */
  /* Hostile servers (docs/security.md): */
  HugeFrame,       /* live: one text frame of `bytes` bytes (default 100 MiB) */
  InterimFlood,    /* live: interim Results every `ms`, finals withheld */
  WrongTypes,      /* live: text frames replaced by valid JSON with wrong-typed fields */
  BatchHuge,       /* pre-recorded: a 200 response body of `bytes` bytes */
  BatchWrongTypes, /* pre-recorded: a 200 response with wrong-typed fields */
  /* What Deepgram really sends that a strict client trips on: */
  OddShapes,     /* live: SpeechStarted/UtteranceEnd "channel":[0], unknown fields, thin Metadata */
  ExtraSections, /* pre-recorded: utterances, paragraphs, summary... unasked; odd "entities" */
};

/* The shape of an error body (refuse, batch_error, outage). Deepgram answers
 * most errors with Legacy, some with Modern, a few (404s) with plain text. */
enum class ErrorBody {
  Legacy, /* {"err_code", "err_msg", "request_id"} */
  Modern, /* {"category", "message", "details", "request_id"} */
  Text,   /* err_msg as text/plain */
};
const char *error_body_name(ErrorBody body);

const char *fault_type_name(FaultType type);
bool fault_type_from_name(const std::string &name, FaultType *out);

enum class ApiScope { Live, Batch, Both };
enum class Target { Open, New, All };

/* What a live-connection fault does to one connection. */
struct ConnEffect {
  int fault_id = 0;
  FaultType type = FaultType::Close;
  double after_s = -1;           /* trigger: seconds after it is attached; < 0 unset */
  long long after_bytes = -1;    /* trigger: audio bytes received after attach; < 0 unset */
  long long after_audio_ms = -1; /* trigger: decoded audio received after attach, whatever
                                    the encoding; < 0 unset */
  int code = 1011;               /* close */
  std::string reason;            /* close: sent as is (codes expanded, see close_reason_text) */
  int delay_ms = 0;              /* delay */
  int frames = 1;                /* malformed, wrong_types, huge_frame, odd_shapes: how many;
                                    < 0 every frame */
  long long bytes = 0;           /* huge_frame: frame size */
  int flood_ms = 0;              /* interim_flood: interval */
};

struct Fault {
  int id = 0;
  FaultType type = FaultType::Refuse;
  double at = 0;        /* emulator-clock seconds when it starts */
  double duration = -1; /* < 0: no end (until count is used up or reset) */
  int count = -1;       /* handshakes / requests / new connections; < 0 unlimited */
  /* refuse, batch_error, outage */
  int status = 503;
  std::string err_code; /* empty: Deepgram's code for status */
  std::string err_msg;
  ErrorBody body = ErrorBody::Legacy;
  double retry_after = -1; /* seconds; < 0 no Retry-After header */
  /* batch_delay */
  int delay_ms = 0;
  /* batch_huge */
  long long body_bytes = 0;
  /* close, stall, drop, delay, malformed */
  Target target = Target::Open;
  ConnEffect effect;
  /* outage */
  ApiScope api = ApiScope::Both;
  bool outage_close = false; /* true: close open connections with effect.code/reason */

  /* state */
  bool started = false;
  int used = 0;

  bool is_conn_fault() const;
};

/* Deepgram's close reason text for "NET-0000", "NET-0001", "DATA-0000";
 * any other reason is returned unchanged. */
std::string close_reason_text(const std::string &reason);

/* Deepgram's err_code / err_msg for an HTTP error status (from its API
 * reference, https://developers.deepgram.com/reference/errors). */
std::string err_code_for_status(int status);
std::string err_msg_for_status(int status);

/* Parses one fault object. */
bool parse_fault(JsonNode *node, Fault *out, std::string *error);
/* Parses a timeline: an array of faults or {"faults":[...]}. */
bool parse_faults_json(const std::string &text, std::vector<Fault> *out, std::string *error);
bool load_faults_file(const std::string &path, std::vector<Fault> *out, std::string *error);

/* Adds fault as a JSON object to builder (for listings). */
void fault_to_json(JsonBuilder *b, const Fault &f);

class FaultController {
public:
  using Clock = std::function<double()>; /* monotonic seconds */

  explicit FaultController(Clock clock = {});

  /* Seconds since the controller was created, plus every advance(). */
  double now() const;
  void advance(double seconds);
  /* Restarts the clock at 0 (emulator start). */
  void reset_clock();

  /* Adds faults. With relative_to_now their `at` counts from now(), else
   * from 0 (emulator start). Returns their ids. */
  std::vector<int> add(std::vector<Fault> faults, bool relative_to_now);
  bool remove(int id);
  void clear();
  std::vector<Fault> snapshot() const;

  /* Faults that started since the last poll and act on open live
   * connections (close/stall/drop/delay/malformed with target open or all,
   * outages covering live). Call from the server before serving anything. */
  std::vector<Fault> poll();

  struct Refusal {
    int status = 0; /* 0: accepted */
    std::string err_code, err_msg;
    double retry_after = -1;
    FaultType type = FaultType::Refuse;
    ErrorBody body = ErrorBody::Legacy;
  };

  /* A live handshake: a refusal, or the effects attached to the new
   * connection (faults with target new/all). */
  Refusal check_live_handshake(std::vector<ConnEffect> *effects);

  enum class BatchBody { Normal, Huge, WrongTypes, ExtraSections };
  struct BatchDecision {
    Refusal error;                      /* status 0: no error */
    int delay_ms = 0;                   /* > 0: delay the response */
    BatchBody body = BatchBody::Normal; /* a 200's body: as transcribed, or hostile */
    long long body_bytes = 0;           /* BatchBody::Huge */
  };
  BatchDecision check_batch_request();

private:
  bool active_locked(const Fault &f, double t) const;
  void expire_locked(double t);
  double now_locked() const;

  mutable std::mutex mutex_;
  Clock clock_;
  double t0_ = 0;
  double offset_ = 0;
  int next_id_ = 1;
  std::vector<Fault> faults_;
};

} // namespace dgemu
