// The thread knob and sb's own pool. The pool's workers spin briefly
// between jobs (a GRU step is a few microseconds of work, too short for a
// sleep/wake round trip), then sleep on a condition variable.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/gemm_kernels.h"
#include "sb_config.h"

#if SB_HAVE_BLAS
#include <cblas.h>
#endif

namespace sb {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

// Parts of a job are claimed, not assigned: the caller claims parts too and
// runs whatever no worker has started, so it never waits for a worker that
// the OS has not scheduled (on a busy machine a spinning hand-off to a
// descheduled thread would stall every GRU step). The caller waits only for
// parts a worker is already running. Which thread runs a part changes no
// result bits.
class Pool {
 public:
  explicit Pool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_.store(true);
      state_.fetch_add(kJobOne);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  int size() const { return static_cast<int>(threads_.size()) + 1; }

  void run(int parts, void (*fn)(void*, int), void* ctx) {
    if (parts <= 1 || threads_.empty() || busy_.test_and_set(std::memory_order_acquire)) {
      for (int p = 0; p < parts; ++p) fn(ctx, p);
      return;
    }
    fn_ = fn;
    ctx_ = ctx;
    done_.store(0, std::memory_order_relaxed);
    const std::uint64_t job = (state_.load(std::memory_order_relaxed) >> kJobShift) + 1;
    {
      // Under the lock: a worker deciding to sleep re-checks the state with
      // the lock held, so it cannot miss this job.
      std::lock_guard<std::mutex> lk(mu_);
      state_.store(job << kJobShift | static_cast<std::uint64_t>(parts) << kPartsShift,
                   std::memory_order_release);
    }
    if (sleepers_.load() > 0) cv_.notify_all();
    claim_and_run(job);
    int spins = 0;
    while (done_.load(std::memory_order_acquire) != parts)
      if (++spins < 4096) cpu_relax(); else std::this_thread::yield();
    busy_.clear(std::memory_order_release);
  }

 private:
  static constexpr int kJobShift = 32, kPartsShift = 16;
  static constexpr std::uint64_t kJobOne = std::uint64_t{1} << kJobShift;
  static constexpr std::uint64_t kMask16 = 0xFFFF;

  // Claims parts of `job` one by one (one atomic word holds job, part count
  // and next part, so a late worker can never take a part of another job).
  void claim_and_run(std::uint64_t job) {
    std::uint64_t v = state_.load(std::memory_order_acquire);
    for (;;) {
      if ((v >> kJobShift) != job) return;
      const std::uint64_t parts = (v >> kPartsShift) & kMask16, next = v & kMask16;
      if (next >= parts) return;
      if (state_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) {
        fn_(ctx_, static_cast<int>(next));
        done_.fetch_add(1, std::memory_order_acq_rel);
        v = state_.load(std::memory_order_acquire);
      }
    }
  }

  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      auto spin_start = std::chrono::steady_clock::now();
      int spins = 0;
      while ((state_.load(std::memory_order_acquire) >> kJobShift) == seen) {
        cpu_relax();
        if (++spins % 256 != 0) continue;
        if (std::chrono::steady_clock::now() - spin_start < std::chrono::microseconds(100)) continue;
        std::unique_lock<std::mutex> lk(mu_);
        sleepers_.fetch_add(1);
        cv_.wait(lk, [&] { return (state_.load() >> kJobShift) != seen; });
        sleepers_.fetch_sub(1);
        spin_start = std::chrono::steady_clock::now();
      }
      seen = state_.load(std::memory_order_acquire) >> kJobShift;
      if (stop_.load()) return;
      claim_and_run(seen);
    }
  }

  std::vector<std::thread> threads_;
  std::atomic<std::uint64_t> state_{0};  // job << 32 | parts << 16 | next part
  std::atomic<int> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::atomic_flag busy_ = ATOMIC_FLAG_INIT;
  std::mutex mu_;
  std::condition_variable cv_;
  void (*fn_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
};

int g_threads = 0;  // 0: not set yet
std::unique_ptr<Pool> g_pool;
std::mutex g_pool_mu;

}  // namespace

void set_num_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
  std::lock_guard<std::mutex> lk(g_pool_mu);
  g_threads = n;
  if (g_pool && g_pool->size() != n) g_pool.reset();  // rebuilt on next use
#if SB_HAVE_BLAS
  // Products that go to OpenBLAS run there with exactly n threads; sb's pool
  // and OpenBLAS are never active at the same time (sb does not call BLAS
  // from inside its own parallel regions), so the counts never multiply.
  openblas_set_num_threads(n);
#endif
}

int num_threads() {
  if (g_threads == 0) set_num_threads(0);
  return g_threads;
}

namespace cpu {

void parallel_run(int parts, void (*fn)(void*, int), void* ctx) {
  if (parts <= 1) {
    if (parts == 1) fn(ctx, 0);
    return;
  }
  Pool* pool;
  {
    const int n = num_threads();
    std::lock_guard<std::mutex> lk(g_pool_mu);
    if (!g_pool) g_pool = std::make_unique<Pool>(n - 1);
    pool = g_pool.get();
  }
  pool->run(parts, fn, ctx);
}

}  // namespace cpu
}  // namespace sb
