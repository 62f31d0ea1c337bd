/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pocketsphinx_engine.h"

#include <pocketsphinx.h>
#include <sphinxbase/cmn.h>
#include <sphinxbase/err.h>
#include <sphinxbase/feat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "resampler.h"

namespace dgemu {

const char *const kPocketsphinxModelDir = "/usr/share/pocketsphinx/model/en-us";

namespace {

constexpr int kModelRate = 16000;
constexpr int kFramesPerSecond = 100;
/* Feed the decoder in 30 ms pieces so speech/silence changes are seen soon. */
constexpr size_t kPieceSamples = 480;
/* A word starts at most this far before the VAD reports speech (its
 * pre-speech and start-speech frames, 0.3 s, plus margin). */
constexpr double kSpeechLookBackSeconds = 0.5;
/* Deepgram makes words final every few seconds while people keep talking, so
 * a client's stall timer never fires on a healthy stream. During unbroken
 * speech, words become final this often (see commit_settled). */
constexpr double kFinalEverySeconds = 3.0;
/* Ending the decoder's utterance mid-speech makes a word end there and bends
 * the last second of the hypothesis: only words ending this much earlier
 * become final. */
constexpr double kSettledSeconds = 1.0;
/* The utterance that follows starts at the first of the new final words that
 * begin this much before their end (at least the last one), so the language
 * model knows what came before: without it "amiable woman" came out as "wall
 * and". It finds those words again; they are dropped. */
constexpr double kContextSeconds = 1.5;
/* Speech that never pauses (music, tones) still becomes final this often. */
constexpr double kMaxUtteranceSeconds = 15.0;

/* Model loading takes ~0.5 s, so decoders are reused: a recognizer borrows
 * one and gives it back. The config is shared; pocketsphinx writes into it
 * during ps_init, hence the lock. */
class DecoderPool {
public:
  explicit DecoderPool(cmd_ln_t *config) : config_(config) {}
  ~DecoderPool() {
    for (ps_decoder_t *ps : idle_)
      ps_free(ps);
    cmd_ln_free_r(config_);
  }

  ps_decoder_t *take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      ps_decoder_t *ps = idle_.back();
      idle_.pop_back();
      return ps;
    }
    ps_decoder_t *ps = ps_init(config_);
    if (ps && initial_cmn_.empty()) {
      cmn_t *cmn = ps_get_feat(ps)->cmn_struct;
      initial_cmn_.resize(cmn->veclen);
      cmn_live_get(cmn, initial_cmn_.data());
    }
    return ps;
  }

  void give(ps_decoder_t *ps) {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(ps);
  }

  /* A reused decoder would otherwise start from the last stream's cepstral
   * mean and recognize the same audio differently. */
  void reset_cmn(ps_decoder_t *ps) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!initial_cmn_.empty())
      cmn_live_set(ps_get_feat(ps)->cmn_struct, initial_cmn_.data());
  }

private:
  std::mutex mutex_;
  cmd_ln_t *config_;
  std::vector<ps_decoder_t *> idle_;
  std::vector<mfcc_t> initial_cmn_;
};

/* Pocketsphinx's fillers and sentence marks are not words. */
bool is_filler(const char *word) {
  return word[0] == '<' || word[0] == '[' || word[0] == '+' || word[0] == '\0';
}

/* "was(2)" is the dictionary's second pronunciation of "was". */
std::string strip_alternate(const char *word) {
  std::string w = word;
  size_t paren = w.find('(');
  return paren == std::string::npos ? w : w.substr(0, paren);
}

class PocketsphinxRecognizer : public Recognizer {
public:
  PocketsphinxRecognizer(std::shared_ptr<DecoderPool> pool, ps_decoder_t *ps, int sample_rate)
      : pool_(std::move(pool)), ps_(ps), rate_(sample_rate > 0 ? sample_rate : kModelRate) {
    if (rate_ != kModelRate)
      resampler_ = std::make_unique<Resampler>(rate_, kModelRate);
    pool_->reset_cmn(ps_);
    ps_start_stream(ps_); /* segment frames count from here */
    ps_start_utt(ps_);
  }

  ~PocketsphinxRecognizer() override {
    ps_end_utt(ps_);
    pool_->give(ps_);
  }

  void feed(const int16_t *samples, size_t count) override {
    fed_ += count;
    if (!resampler_) {
      decode(samples, count);
      return;
    }
    resampled_.clear();
    resampler_->feed(samples, count, &resampled_);
    decode(resampled_.data(), resampled_.size());
  }

  std::vector<EngineWord> take_final() override {
    std::vector<EngineWord> words;
    words.swap(final_);
    return words;
  }

  double final_until() const override { return final_until_; }

  std::vector<EngineWord> interim() override {
    int frames = ps_get_n_frames(ps_);
    if (frames != interim_frames_) {
      interim_frames_ = frames;
      interim_ = words_of_utterance(false);
    }
    return interim_;
  }

  void finish() override {
    if (resampler_) {
      resampled_.clear();
      resampler_->flush(&resampled_);
      decode(resampled_.data(), resampled_.size());
      /* Later audio continues the stream: a fresh resampler keeps times
       * aligned because the flush produced output up to the input's end. */
      resampler_ = std::make_unique<Resampler>(rate_, kModelRate);
    }
    end_utterance();
    advance_final(fed_seconds());
  }

  double fed_seconds() const override { return static_cast<double>(fed_) / rate_; }

  /* finish() already leaves the decoder ready for the audio that follows. */
  void endpoint() override { finish(); }

private:
  double decoded_seconds() const { return static_cast<double>(decoded_) / kModelRate; }

  void decode(const int16_t *samples, size_t count) {
    for (size_t pos = 0; pos < count; pos += kPieceSamples) {
      size_t n = std::min(kPieceSamples, count - pos);
      ps_process_raw(ps_, samples + pos, n, FALSE, FALSE);
      decoded_ += n;
      keep_recent(samples + pos, n);
      bool speech = ps_get_in_speech(ps_);
      if (speech && !in_speech_)
        speech_began_ = decoded_seconds();
      if (!speech && in_speech_)
        end_utterance(); /* the pause after speech ends the utterance */
      else if (speech && decoded_seconds() - speech_began_ > kMaxUtteranceSeconds)
        end_utterance();
      else if (speech && decoded_seconds() - final_advanced_at_ >= kFinalEverySeconds &&
               decoded_seconds() >= retry_commit_at_ && commit_settled())
        speech = ps_get_in_speech(ps_); /* the new utterance's */
      in_speech_ = speech;
      if (!speech)
        advance_final(decoded_seconds() - kSpeechLookBackSeconds);
    }
  }

  void advance_final(double until) {
    if (until > final_until_) {
      final_until_ = until;
      final_advanced_at_ = decoded_seconds();
    }
  }

  /* The audio from final_until on: commit_settled decodes it again. */
  void keep_recent(const int16_t *samples, size_t count) {
    recent_.insert(recent_.end(), samples, samples + count);
    uint64_t keep_from = static_cast<uint64_t>(std::max(0.0, final_until_) * kModelRate);
    if (keep_from >= recent_start_ + kModelRate) { /* erase a second or more at once */
      size_t drop =
          static_cast<size_t>(std::min<uint64_t>(keep_from - recent_start_, recent_.size()));
      recent_.erase(recent_.begin(), recent_.begin() + static_cast<long>(drop));
      recent_start_ += drop;
    }
  }

  void end_utterance() {
    ps_end_utt(ps_);
    std::vector<EngineWord> words = words_of_utterance(true);
    final_.insert(final_.end(), words.begin(), words.end());
    interim_.clear();
    interim_frames_ = -1;
    advance_final(decoded_seconds());
    speech_began_ = utterance_began_ = decoded_seconds();
    mid_sentence_ = false;
    ps_start_utt(ps_);
  }

  /* Unbroken speech: ends the decoder's utterance here, where its full search
   * (far better than the partial hypothesis) places the words; makes those
   * that end kSettledSeconds before here final, all but the last; and starts
   * a new utterance on the audio from kContextSeconds before their end,
   * decoded again. False when nothing is settled yet. */
  bool commit_settled() {
    double settled = decoded_seconds() - kSettledSeconds;
    /* The partial hypothesis tells cheaply whether anything can be settled. */
    std::vector<EngineWord> guess = words_of_utterance(false);
    if (guess.size() < 2 || guess.front().end > settled)
      return false;
    ps_end_utt(ps_);
    std::vector<EngineWord> words = words_of_utterance(false);
    size_t n = 0;
    while (n + 1 < words.size() && words[n].end <= settled)
      n++;
    words.resize(n);
    interim_.clear();
    interim_frames_ = -1;
    double from = final_until_;
    if (n == 0) { /* the full search disagreed: decode it all again, retry later */
      retry_commit_at_ = decoded_seconds() + kFinalEverySeconds;
    } else {
      advance_final(words.back().end);
      last_committed_ = words.back();
      for (size_t i = n;
           i-- > 0 && (i + 1 == n || words[i].start >= final_until_ - kContextSeconds);)
        from = words[i].start;
      mid_sentence_ = true;
    }
    final_.insert(final_.end(), words.begin(), words.end());
    restart_at(from);
    return true;
  }

  /* Starts an utterance on the kept audio from `at` (seconds) to here. The
   * decoder's clock runs on through the repeated samples: clock_shift_ maps
   * it back to ours. */
  void restart_at(double at) {
    uint64_t from = std::max(recent_start_, static_cast<uint64_t>(at * kModelRate));
    size_t skip = static_cast<size_t>(std::min<uint64_t>(from - recent_start_, recent_.size()));
    ps_start_utt(ps_);
    ps_process_raw(ps_, recent_.data() + skip, recent_.size() - skip, FALSE, FALSE);
    clock_shift_ += recent_.size() - skip;
    speech_began_ = utterance_began_ = static_cast<double>(recent_start_ + skip) / kModelRate;
  }

  /* A word the decoder found again after commit_settled: mostly before the
   * end of the final words, or the last of them, a little later. */
  bool already_final(const std::string &word, double start, double end) const {
    double committed = last_committed_.end;
    return (start + end) / 2 < committed || (word == last_committed_.word && start < committed);
  }

  std::vector<EngineWord> words_of_utterance(bool final) {
    std::vector<EngineWord> words;
    logmath_t *lmath = ps_get_logmath(ps_);
    double shift = static_cast<double>(clock_shift_) / kModelRate;
    bool first_segment = true;
    for (ps_seg_t *seg = ps_seg_iter(ps_); seg; seg = ps_seg_next(seg)) {
      int first_frame = 0, last_frame = 0;
      ps_seg_frames(seg, &first_frame, &last_frame);
      if (first_segment) {
        /* The VAD dates an utterance's first frame as if a full pre-speech
         * buffer preceded the speech; restart_at's utterance starts in speech
         * with less, so its frames would come out up to 0.2 s early. */
        double began = static_cast<double>(first_frame) / kFramesPerSecond - shift;
        shift -= std::max(0.0, utterance_began_ - began);
        first_segment = false;
      }
      const char *text = ps_seg_word(seg);
      if (is_filler(text))
        continue;
      EngineWord w;
      w.word = strip_alternate(text);
      w.start = static_cast<double>(first_frame) / kFramesPerSecond - shift;
      w.end = static_cast<double>(last_frame + 1) / kFramesPerSecond - shift;
      if (words.empty() && already_final(w.word, w.start, w.end))
        continue;
      int32 acoustic = 0, language = 0, backoff = 0;
      int32 prob = ps_seg_prob(seg, &acoustic, &language, &backoff);
      w.punctuated_word = w.word == "i" ? "I" : w.word;
      w.confidence = std::clamp(logmath_exp(lmath, prob), 0.0, 1.0);
      /* Never before what was already final, never past the audio. */
      w.start = std::max(w.start, final_until_);
      w.end = std::clamp(w.end, w.start, std::max(w.start, decoded_seconds()));
      words.push_back(std::move(w));
    }
    if (!words.empty()) {
      /* A sentence per utterance, as Deepgram's punctuate=true would give. */
      std::string &first = words.front().punctuated_word;
      if (!mid_sentence_)
        first[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(first[0])));
      if (final)
        words.back().punctuated_word += ".";
    }
    return words;
  }

  std::shared_ptr<DecoderPool> pool_;
  ps_decoder_t *ps_;
  int rate_;
  std::unique_ptr<Resampler> resampler_;
  std::vector<int16_t> resampled_;
  uint64_t fed_ = 0;     /* input samples */
  uint64_t decoded_ = 0; /* 16 kHz samples given to the decoder */
  bool in_speech_ = false;
  double speech_began_ = 0;
  double utterance_began_ = 0; /* where the decoder's utterance starts */
  double final_until_ = 0;
  double final_advanced_at_ = 0; /* decoded_seconds() when final_until_ last grew */
  double retry_commit_at_ = 0;
  EngineWord last_committed_;   /* the last word commit_settled made final */
  bool mid_sentence_ = false;   /* words of this sentence are already final */
  std::vector<int16_t> recent_; /* 16 kHz audio from recent_start_ to decoded_ */
  uint64_t recent_start_ = 0;
  uint64_t clock_shift_ = 0; /* samples decoded twice (see restart_at) */
  std::vector<EngineWord> final_;
  std::vector<EngineWord> interim_;
  int interim_frames_ = -1;
};

class PocketsphinxEngine : public Engine {
public:
  explicit PocketsphinxEngine(std::shared_ptr<DecoderPool> pool) : pool_(std::move(pool)) {}
  std::string name() const override { return "pocketsphinx"; }

  std::unique_ptr<Recognizer> create(int sample_rate) override {
    ps_decoder_t *ps = pool_->take();
    if (!ps)
      return nullptr;
    return std::make_unique<PocketsphinxRecognizer>(pool_, ps, sample_rate);
  }

private:
  std::shared_ptr<DecoderPool> pool_;
};

bool readable(const std::string &path) {
  return access(path.c_str(), R_OK) == 0;
}

} // namespace

std::unique_ptr<Engine> make_pocketsphinx_engine(std::string *error, const std::string &model_dir) {
  std::string ignored;
  std::string &err = error ? *error : ignored;
  std::string dir = model_dir.empty() ? kPocketsphinxModelDir : model_dir;
  std::string hmm = dir + "/en-us", lm = dir + "/en-us.lm.bin", dict = dir + "/cmudict-en-us.dict";
  for (const std::string &path : {hmm + "/mdef", lm, dict}) {
    if (!readable(path)) {
      err = "pocketsphinx model file " + path + " is missing (install pocketsphinx-en-us)";
      return nullptr;
    }
  }
  err_set_logfp(nullptr); /* pocketsphinx logs a page per decoder otherwise */
  cmd_ln_t *config = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-lm", lm.c_str(),
                                 "-dict", dict.c_str(), nullptr);
  if (!config) {
    err = "pocketsphinx rejected its configuration";
    return nullptr;
  }
  auto pool = std::make_shared<DecoderPool>(config);
  /* Load the model now: fail early, and the first recognizer starts fast. */
  ps_decoder_t *ps = pool->take();
  if (!ps) {
    err = "pocketsphinx could not load the model in " + dir;
    return nullptr;
  }
  pool->give(ps);
  return std::make_unique<PocketsphinxEngine>(std::move(pool));
}

} // namespace dgemu
