/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "soak_pipeline.h"

namespace chaos {

std::string soak_pipeline_description(int rate, int channels, const std::string &breaker) {
  std::string caps = "audio/x-raw,format=S16LE,layout=interleaved,rate=" + std::to_string(rate) +
                     ",channels=" + std::to_string(channels);
  /* Several channels reach the sinks as they are (no downmix in the soak). */
  std::string multichannel = channels > 1 ? " multichannel=true" : "";
  return "appsrc name=src format=time caps=" + caps + " ! sttfailover name=f breaker=" + breaker +
         /* appsrc is not live: stream-first soaks the live path and its failover */
         " mode=stream-first retry-backoff-min=50 retry-backoff-max=400 reset-timeout=300"
         " reset-timeout-max=2000 probe-timeout=3000"
         " f.stream ! queue ! dgstreamsink url=@WS@ api-key=chaos-key breaker=" +
         breaker + " stall-timeout=1000 connect-timeout=3000 finalize-timeout=5000" + multichannel +
         " f.batch ! queue ! dgbatchsink url=@HTTP@ api-key=chaos-key min-chunk=500" +
         multichannel +
         " max-chunk=2000 retry-backoff-min=20 retry-backoff-max=300 request-timeout=5000"
         " reset-timeout=200 reset-timeout-max=1000 breaker=" +
         breaker +
         "-batch"
         " f.text ! queue ! appsink name=text sync=false wait-on-eos=false emit-signals=true";
}

} // namespace chaos
