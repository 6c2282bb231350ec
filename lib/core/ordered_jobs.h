// Runs n jobs on `threads` worker threads and hands their results, in job
// order, to the calling thread: the order of an output never depends on the
// thread count, and at most `window` results wait to be delivered, which
// bounds memory whatever n is.
//
//   sb::run_ordered<Features>(inputs.size(), jobs, 4 * jobs,
//       [&](std::size_t i) { return compute(inputs[i]); },      // workers
//       [&](std::size_t i, Features& f) { write(inputs[i], f); });  // caller
//
// An exception thrown by a job is rethrown by run_ordered (in the calling
// thread) when that job's turn to be delivered comes; one thrown by deliver
// stops the workers and propagates. Either way every thread is joined first.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace sb {

template <class T>
void run_ordered(std::size_t n, int threads, std::size_t window, const std::function<T(std::size_t)>& job,
                 const std::function<void(std::size_t, T&)>& deliver) {
  if (threads <= 1 || n < 2) {
    for (std::size_t i = 0; i < n; ++i) {
      T r = job(i);
      deliver(i, r);
    }
    return;
  }
  struct Slot {
    std::optional<T> value;
    std::exception_ptr error;
    bool done = false;
  };
  std::vector<Slot> slots(n);
  std::mutex mu;
  std::condition_variable cv;
  std::size_t next = 0, writing = 0;
  if (window < 1) window = 1;
  bool stop = false;
  auto worker = [&] {
    for (;;) {
      std::size_t i;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return stop || next >= n || next < writing + window; });
        if (stop || next >= n) return;
        i = next++;
      }
      std::optional<T> value;
      std::exception_ptr error;
      try {
        value.emplace(job(i));
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lk(mu);
      slots[i].value = std::move(value);
      slots[i].error = error;
      slots[i].done = true;
      cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (int k = 0; k < threads; ++k) pool.emplace_back(worker);
  auto stop_all = [&] {
    {
      std::lock_guard lk(mu);
      stop = true;
    }
    cv.notify_all();
    for (auto& t : pool) t.join();
  };
  try {
    for (std::size_t i = 0; i < n; ++i) {
      T r;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return slots[i].done; });
        if (slots[i].error) std::rethrow_exception(slots[i].error);
        r = std::move(*slots[i].value);
        slots[i].value.reset();
        writing = i + 1;
      }
      cv.notify_all();
      deliver(i, r);
    }
  } catch (...) {
    stop_all();
    throw;
  }
  stop_all();
}

}  // namespace sb
