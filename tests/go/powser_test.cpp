// Go's test/chan/powser1.go, written again in ceramic's API: power series as networks of
// goroutines (after McIlroy, "Squinting at Power Series"). A series is a pair of unbuffered
// channels, a demand channel (`req`) and a data channel (`dat`) along which flow rational
// coefficients; a consumer asks for the next coefficient on req and receives it on dat. Every
// operator (sum, product, derivative, integral, reciprocal, exponential, substitution,
// reversion) is a goroutine that makes more goroutines and channels as terms are demanded:
// split starts a goroutine per coefficient, product one more product per term. The test
// computes the series Go's program checks, term by term against their known coefficients.
//
// Differences by design:
//   - Go's program ends with its goroutines still blocked (the process exits). Here every
//     blocking operation of the network is a select that also waits on `stop`, a channel the
//     test closes when it is done: every goroutine then ends (Stopped), and each waits for the
//     goroutines it started (Group), so a test ends with none left, in both modes.
//   - Go's getn disables a case with a nil channel; here with a never-ready channel that only
//     that operator holds (one for demands, one for data).
//   - Every wait is bounded by the test's patience (or_give_up) instead of Go's test timeout.
//   - Process mode makes a process per goroutine (a fork per coefficient in split), hundreds
//     at once, all waiting on stop: stop is made with max_waiters = 1024. With the default (64)
//     the reversion's 7th term took 13 s in process mode and the 8th did not come (the same
//     network without the selects on stop: 17 ms); KnownDefectSelectsBesideAChannelWith-
//     ManyWaitersSlowDownOrStall below shows it alone.
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "go_support.hpp"

namespace {

using namespace ceramic_go;
using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::select;

// ---- Rationals (Go's rat: two int64, den == 0 marks the end of a series) -------------------

struct Rat {
  std::int64_t num;
  std::int64_t den;
};

bool operator==(const Rat& a, const Rat& b) { return a.num == b.num && a.den == b.den; }

std::string str(const Rat& r) {
  if (r.den == 0) return "end";
  return r.den == 1 ? std::to_string(r.num) : std::to_string(r.num) + "/" + std::to_string(r.den);
}

std::int64_t gcd(std::int64_t u, std::int64_t v) {
  if (u < 0) u = -u;
  if (v < 0) v = -v;
  while (u != 0) {
    std::int64_t t = v % u;
    v = u;
    u = t;
  }
  return v;
}

// u/v in lowest terms, denominator positive.
Rat rat(std::int64_t u, std::int64_t v = 1) {
  require(v != 0, "rational with a zero denominator");
  std::int64_t g = gcd(u, v);
  if (v < 0) g = -g;
  return Rat{u / g, v / g};
}

const Rat kZero{0, 1};
const Rat kOne{1, 1};
const Rat kEnd{1, 0};

bool is_end(const Rat& r) { return r.den == 0; }
Rat add(Rat u, Rat v) { return rat(u.num * v.den + v.num * u.den, u.den * v.den); }
Rat mul(Rat u, Rat v) {
  // Cross-reduce first, as Go's mul does, to keep the products small.
  std::int64_t g1 = gcd(u.num, v.den);
  std::int64_t g2 = gcd(u.den, v.num);
  if (g1 == 0) g1 = 1;
  if (g2 == 0) g2 = 1;
  return rat((u.num / g1) * (v.num / g2), (u.den / g2) * (v.den / g1));
}
Rat neg(Rat u) { return Rat{-u.num, u.den}; }
Rat inv(Rat u) {
  require(u.num != 0, "reciprocal of zero");
  return rat(u.den, u.num);
}

// ---- The network's plumbing -----------------------------------------------------------------

// Thrown out of any blocking operation once `stop` is closed: the test is taking the network
// down. Not a failure.
struct Stopped {};

// What a goroutine of the network holds: the network's stop channel and the goroutines it started
// (waited for when it ends).
struct Ctx {
  Chan<int> stop = Chan<int>();
  Group kids;
};

[[noreturn]] void stopped(std::optional<int>) { throw Stopped{}; }

// Starts body as a goroutine of the network, a child of `parent`. A failure closes stop, which
// takes the whole network down at once; the failure is reported by the parent's Group.
void spawn(Ctx& parent, std::string name, std::function<void(Ctx&)> body) {
  parent.kids.go(name, [stop = parent.stop, name, body = std::move(body)]() mutable {
    Ctx me{stop, {}};
    try {
      body(me);
    } catch (const Stopped&) {
    } catch (...) {
      stop.close();
      (void)me.kids.wait();
      throw;
    }
    std::string kids = me.kids.wait();
    require(kids.empty(), kids);
  });
}

template <class T>
T recv_from(Ctx& c, const Chan<T>& ch) {
  T out{};
  select(on_recv(ch,
                 [&](std::optional<T> v) {
                   require(v.has_value(), "a channel of the network was closed");
                   out = *v;
                 }),
         on_recv(c.stop, stopped), or_give_up("powser receive"));
  return out;
}

template <class T>
void send_to(Ctx& c, const Chan<T>& ch, const T& v) {
  select(on_send(ch, v, [] {}), on_recv(c.stop, stopped), or_give_up("powser send"));
}

// A power series: demand on req, coefficient on dat.
struct PS {
  Chan<int> req = Chan<int>();
  Chan<Rat> dat = Chan<Rat>();
};
struct PS2 {
  PS a, b;
};

PS2 make_pair() { return PS2{PS{}, PS{}}; }

// The next coefficient of U (Go's get).
Rat get(Ctx& c, const PS& U) {
  send_to(c, U.req, 1);
  return recv_from(c, U.dat);
}
void await_demand(Ctx& c, const PS& Z) { (void)recv_from(c, Z.req); }
// Waits for a demand on Z and answers it with r (Go's put).
void put(Ctx& c, const Rat& r, const PS& Z) {
  await_demand(c, Z);
  send_to(c, Z.dat, r);
}
// Z answers every demand with U's next coefficient, forever.
[[noreturn]] void copy(Ctx& c, const PS& U, const PS& Z) {
  for (;;) {
    await_demand(c, Z);
    send_to(c, Z.dat, get(c, U));
  }
}

// One coefficient from each of U and V, demanded and received in whatever order they come
// (Go's getn with n = 2): a select over both demands and both data channels, a case disabled
// (Go: set to nil) once done, by a never-ready channel in its place.
struct Get2 {
  Chan<int> never_req;
  Chan<Rat> never_dat;
  std::pair<Rat, Rat> operator()(Ctx& c, const PS& U, const PS& V) {
    const Chan<int>* req[2] = {&U.req, &V.req};
    const Chan<Rat>* dat[2] = {&never_dat, &never_dat};
    Rat out[2] = {kZero, kZero};
    for (int step = 0; step < 4; ++step) {
      auto got = [&](int i) {
        return [&, i](std::optional<Rat> v) {
          require(v.has_value(), "a channel of the network was closed");
          out[i] = *v;
          dat[i] = &never_dat;
        };
      };
      select(on_send(*req[0], 1, [&] { req[0] = &never_req; dat[0] = &U.dat; }),
             on_send(*req[1], 1, [&] { req[1] = &never_req; dat[1] = &V.dat; }),
             on_recv(*dat[0], got(0)), on_recv(*dat[1], got(1)), on_recv(c.stop, stopped),
             or_give_up("powser get2"));
    }
    return {out[0], out[1]};
  }
};

// ---- split: one series read by two consumers at their own pace ------------------------------
//
// A goroutine per coefficient: a generation serves the first demand on either output, starts
// the next generation, fetches the coefficient, gives it to that output, and keeps it until
// the other output asks for it. Generations hand the lagging output on in order: a generation
// serves it only after the previous one released it (`wait`).

void dosplit(Ctx& c, PS in, PS out0, PS out1, Chan<int> wait) {
  bool both = false;  // whether this generation already has the lagging output's turn
  bool swap = false;
  select(on_recv(out0.req, [](std::optional<int>) {}),
         on_recv(wait, [&](std::optional<int>) { both = true; }), on_recv(c.stop, stopped),
         or_give_up("split"));
  if (both) {
    select(on_recv(out0.req, [](std::optional<int>) {}),
           on_recv(out1.req, [&](std::optional<int>) { swap = true; }), on_recv(c.stop, stopped),
           or_give_up("split"));
    if (swap) std::swap(out0, out1);
  }
  send_to(c, in.req, 1);
  Chan<int> release;
  spawn(c, "split", [in, out0, out1, release](Ctx& k) { dosplit(k, in, out0, out1, release); });
  Rat d = recv_from(c, in.dat);
  send_to(c, out0.dat, d);
  if (!both) (void)recv_from(c, wait);
  await_demand(c, out1);
  send_to(c, out1.dat, d);
  send_to(c, release, 0);
}

void split(Ctx& c, const PS& in, const PS2& out) {
  Chan<int> release;
  spawn(c, "split", [in, out, release](Ctx& k) { dosplit(k, in, out.a, out.b, release); });
  send_to(c, release, 0);
}

PS2 Split(Ctx& c, const PS& U) {
  PS2 UU = make_pair();
  spawn(c, "Split", [U, UU](Ctx& k) { split(k, U, UU); });
  return UU;
}

// ---- Operators ------------------------------------------------------------------------------

PS Rep(Ctx& c, Rat r) {
  PS Z;
  spawn(c, "Rep", [r, Z](Ctx& k) {
    for (;;) put(k, r, Z);
  });
  return Z;
}

PS Add(Ctx& c, const PS& U, const PS& V) {
  PS Z;
  spawn(c, "Add", [U, V, Z](Ctx& k) {
    Get2 get2;
    for (;;) {
      await_demand(k, Z);
      auto [u, v] = get2(k, U, V);
      if (!is_end(u) && !is_end(v)) {
        send_to(k, Z.dat, add(u, v));
      } else if (is_end(u) && is_end(v)) {
        send_to(k, Z.dat, kEnd);
      } else if (is_end(u)) {
        send_to(k, Z.dat, v);
        copy(k, V, Z);
      } else {
        send_to(k, Z.dat, u);
        copy(k, U, Z);
      }
    }
  });
  return Z;
}

// c * U
PS Cmul(Ctx& c, Rat r, const PS& U) {
  PS Z;
  spawn(c, "Cmul", [r, U, Z](Ctx& k) {
    for (;;) {
      await_demand(k, Z);
      Rat u = get(k, U);
      if (is_end(u)) break;
      send_to(k, Z.dat, mul(r, u));
    }
    send_to(k, Z.dat, kEnd);
  });
  return Z;
}

PS Sub(Ctx& c, const PS& U, const PS& V) { return Add(c, U, Cmul(c, neg(kOne), V)); }

// r + x*U
PS Shift(Ctx& c, Rat r, const PS& U) {
  PS Z;
  spawn(c, "Shift", [r, U, Z](Ctx& k) {
    put(k, r, Z);
    copy(k, U, Z);
  });
  return Z;
}

// U*V: with U = u + x*UU and V = v + x*VV, UV = u*v + x*(u*VV + v*UU) + x*x*UU*VV.
PS Mul(Ctx& c, const PS& U, const PS& V) {
  PS Z;
  spawn(c, "Mul", [U, V, Z](Ctx& k) {
    Get2 get2;
    await_demand(k, Z);
    auto [u, v] = get2(k, U, V);
    if (is_end(u) || is_end(v)) {
      send_to(k, Z.dat, kEnd);
      return;
    }
    send_to(k, Z.dat, mul(u, v));
    PS2 UU = Split(k, U);
    PS2 VV = Split(k, V);
    PS W = Add(k, Cmul(k, u, VV.a), Cmul(k, v, UU.a));
    await_demand(k, Z);
    send_to(k, Z.dat, get(k, W));
    copy(k, Add(k, W, Mul(k, UU.b, VV.b)), Z);
  });
  return Z;
}

// dU/dx
PS Diff(Ctx& c, const PS& U) {
  PS Z;
  spawn(c, "Diff", [U, Z](Ctx& k) {
    await_demand(k, Z);
    if (!is_end(get(k, U))) {  // the constant term goes
      for (std::int64_t i = 1;; ++i) {
        Rat u = get(k, U);
        if (is_end(u)) break;
        send_to(k, Z.dat, mul(rat(i), u));
        await_demand(k, Z);
      }
    }
    send_to(k, Z.dat, kEnd);
  });
  return Z;
}

// r + integral of U from 0 to x
PS Integ(Ctx& c, Rat r, const PS& U) {
  PS Z;
  spawn(c, "Integ", [r, U, Z](Ctx& k) {
    put(k, r, Z);
    for (std::int64_t i = 1;; ++i) {
      await_demand(k, Z);
      Rat u = get(k, U);
      if (is_end(u)) break;
      send_to(k, Z.dat, mul(rat(1, i), u));
    }
    send_to(k, Z.dat, kEnd);
  });
  return Z;
}

// 1/U: with U = u + x*UU and Z = z + x*ZZ, z = 1/u and ZZ = -UU*(z + x*ZZ)/u.
PS Recip(Ctx& c, const PS& U) {
  PS Z;
  spawn(c, "Recip", [U, Z](Ctx& k) {
    PS2 ZZ = make_pair();
    await_demand(k, Z);
    Rat z = inv(get(k, U));
    send_to(k, Z.dat, z);
    split(k, Mul(k, Cmul(k, neg(z), U), Shift(k, z, ZZ.a)), ZZ);
    copy(k, ZZ.b, Z);
  });
  return Z;
}

// exp(U) for U with constant term 0 (which is ignored): Z' = Z*U', Z(0) = 1.
PS Exp(Ctx& c, const PS& U) {
  PS2 ZZ = make_pair();
  split(c, Integ(c, kOne, Mul(c, ZZ.a, Diff(c, U))), ZZ);
  return ZZ.b;
}

// U(V) for V with constant term 0 (which is ignored): with U = u + x*UU and V = x*VV,
// U(V) = u + x*VV*UU(V).
PS Subst(Ctx& c, const PS& U, const PS& V) {
  PS Z;
  spawn(c, "Subst", [U, V, Z](Ctx& k) {
    PS2 VV = Split(k, V);
    await_demand(k, Z);
    Rat u = get(k, U);
    send_to(k, Z.dat, u);
    if (is_end(u)) return;
    if (is_end(get(k, VV.a))) {
      put(k, kEnd, Z);
    } else {
      copy(k, Mul(k, VV.a, Subst(k, U, VV.b)), Z);
    }
  });
  return Z;
}

// U(r * x^n): coefficient i times r^i, followed by n - 1 zeros.
PS MonSubst(Ctx& c, const PS& U, Rat r, int n) {
  PS Z;
  spawn(c, "MonSubst", [U, r, n, Z](Ctx& k) {
    Rat p = kOne;
    for (;;) {
      await_demand(k, Z);
      Rat u = get(k, U);
      if (is_end(u)) break;
      send_to(k, Z.dat, mul(u, p));
      p = mul(p, r);
      for (int i = 1; i < n; ++i) put(k, kZero, Z);
    }
    send_to(k, Z.dat, kEnd);
  });
  return Z;
}

// The inverse function: V with U(V(x)) = x, for U = x*UU with UU(0) != 0. Then V = x*W with
// W = 1/UU(V): V's own coefficients feed back into the substitution, through a split.
PS Revert(Ctx& c, const PS& U) {
  PS Z;
  spawn(c, "Revert", [U, Z](Ctx& k) {
    await_demand(k, Z);
    Rat u0 = get(k, U);
    require(u0 == kZero, "Revert: the series has a constant term " + str(u0));
    send_to(k, Z.dat, kZero);  // V's constant term; U now yields UU
    PS2 VV = make_pair();
    split(k, Shift(k, kZero, Recip(k, Subst(k, U, VV.a))), VV);
    (void)get(k, VV.b);  // V's constant term, already given
    copy(k, VV.b, Z);
  });
  return Z;
}

// ---- The checks -----------------------------------------------------------------------------

// Go's N = 10 terms, in both modes: 10 terms of the reversion make about 450 goroutines
// (processes in process mode), of the quotient sin/cos about 220. Process mode under ASan
// checks 8 terms of the reversion (3.3 s for 10).
constexpr int kTerms = 10;
#if defined(CERAMIC_GO_SANITIZED)
constexpr int kRevertTerms = kProcessMode ? 8 : 10;
#else
constexpr int kRevertTerms = 10;
#endif

// A network under test: built from `root`, which closes stop and waits for every goroutine.
class Network {
 public:
  Network() = default;
  ~Network() {
    root_.stop.close();
    EXPECT_EQ(root_.kids.wait(), "") << kMode;
  }
  Ctx& root() { return root_; }

  // The next `want.size()` coefficients of U, "" when they are `want`.
  std::string expect(const std::string& what, const PS& U, const std::vector<Rat>& want) {
    std::string got;
    bool bad = false;
    for (const Rat& w : want) {
      Rat r = get(root_, U);
      bad = bad || !(r == w);
      got += " " + str(r);
    }
    if (!bad) return "";
    std::string wanted;
    for (const Rat& w : want) wanted += " " + str(w);
    return what + ":" + got + ", want" + wanted;
  }

 private:
  // Every goroutine of the network waits on stop: more than ChanOptions' default 64 at once
  // (see the top of the file).
  Ctx root_{Chan<int>(ceramic::ChanOptions{.max_waiters = 1024}), {}};
};

std::vector<Rat> repeated(Rat r, int n) { return std::vector<Rat>(static_cast<std::size_t>(n), r); }

std::vector<Rat> first(std::vector<Rat> v, int n) {
  v.resize(static_cast<std::size_t>(n));
  return v;
}

TEST(GoPowser, SumsScalingAndDifferences) {
  Network net;
  Ctx& c = net.root();
  PS ones = Rep(c, kOne);
  PS twos = Rep(c, rat(2));
  EXPECT_EQ(net.expect("Ones", ones, repeated(kOne, 5)), "");
  EXPECT_EQ(net.expect("Add(Ones, Ones)", Add(c, ones, ones), repeated(rat(2), kTerms)), "");
  EXPECT_EQ(net.expect("Add(Ones, Twos)", Add(c, ones, twos), repeated(rat(3), kTerms)), "");
  EXPECT_EQ(net.expect("Cmul(-1, Twos)", Cmul(c, neg(kOne), twos), repeated(rat(-2), kTerms)), "");
  EXPECT_EQ(net.expect("Sub(Ones, Twos)", Sub(c, ones, twos), repeated(rat(-1), kTerms)), "");
}

TEST(GoPowser, DerivativeIntegralAndProduct) {
  Network net;
  Ctx& c = net.root();
  std::vector<Rat> naturals, harmonic{kZero};
  for (int i = 1; i <= kTerms; ++i) naturals.push_back(rat(i));
  for (int i = 1; i < kTerms; ++i) harmonic.push_back(rat(1, i));
  // d/dx 1/(1-x) = 1 + 2x + 3x^2 + ...; its integral -log(1-x) = x + x^2/2 + ...;
  // 1/(1-x)^2 = 1 + 2x + 3x^2 + ...
  EXPECT_EQ(net.expect("Diff(Ones)", Diff(c, Rep(c, kOne)), naturals), "");
  EXPECT_EQ(net.expect("Integ(0, Ones)", Integ(c, kZero, Rep(c, kOne)), harmonic), "");
  EXPECT_EQ(net.expect("Mul(Ones, Ones)", Mul(c, Rep(c, kOne), Rep(c, kOne)), naturals), "");
}

TEST(GoPowser, ExponentialOfOnes) {
  // exp(x/(1-x)): the coefficients Go's program checks.
  const std::vector<Rat> want = {kOne,          kOne,           rat(3, 2),       rat(13, 6),
                                 rat(73, 24),   rat(167, 40),   rat(4051, 720),  rat(37633, 5040),
                                 rat(43817, 4480), rat(4596553, 362880)};
  Network net;
  Ctx& c = net.root();
  EXPECT_EQ(net.expect("Exp(Ones)", Exp(c, Rep(c, kOne)), first(want, kTerms)), "");
}

// arctan x = integral of 1/(1+x^2) = x - x^3/3 + x^5/5 - ...
std::vector<Rat> arctan_series() {
  std::vector<Rat> v;
  for (int i = 0, sign = 1; i < 10; ++i) {
    if (i % 2 == 0) {
      v.push_back(kZero);
    } else {
      v.push_back(rat(sign, i));
      sign = -sign;
    }
  }
  return v;
}

PS ArcTan(Ctx& c) { return Integ(c, kZero, MonSubst(c, Rep(c, kOne), neg(kOne), 2)); }

TEST(GoPowser, ArcTangentByMonomialSubstitution) {
  Network net;
  EXPECT_EQ(net.expect("ATan", ArcTan(net.root()), first(arctan_series(), kTerms)), "");
}

const std::vector<Rat> kTan = {kZero, kOne, kZero, rat(1, 3),  kZero,
                               rat(2, 15), kZero, rat(17, 315), kZero, rat(62, 2835)};

TEST(GoPowser, TangentByReversionOfArcTangent) {
  Network net;
  EXPECT_EQ(net.expect("Revert(ATan)", Revert(net.root(), ArcTan(net.root())),
                       first(kTan, kRevertTerms)),
            "");
}

TEST(GoPowser, SineCosineAndTangentAsTheirQuotient) {
  // sin = integral of cos, cos = 1 - integral of sin: each series is defined by the other's
  // coefficients, fed back through splits. tan = sin * (1/cos).
  std::vector<Rat> sin_want, cos_want;
  std::int64_t fact = 1;
  for (int i = 0; i < 10; ++i) {
    if (i > 0) fact *= i;
    const std::int64_t sign = (i / 2) % 2 == 0 ? 1 : -1;
    sin_want.push_back(i % 2 == 1 ? rat(sign, fact) : kZero);
    cos_want.push_back(i % 2 == 0 ? rat(sign, fact) : kZero);
  }
  auto sin_cos = [](Ctx& c) {
    PS2 S = make_pair();
    PS2 C = make_pair();
    split(c, Integ(c, kZero, C.a), S);
    split(c, Integ(c, kOne, Cmul(c, neg(kOne), S.a)), C);
    return PS2{S.b, C.b};
  };
  {
    Network net;
    PS2 sc = sin_cos(net.root());
    std::string s, k;
    // Read both, interleaved, as two consumers of one network.
    for (int i = 0; i < kTerms; ++i) {
      s += net.expect("sin", sc.a, {sin_want[static_cast<std::size_t>(i)]});
      k += net.expect("cos", sc.b, {cos_want[static_cast<std::size_t>(i)]});
    }
    EXPECT_EQ(s, "") << kMode;
    EXPECT_EQ(k, "") << kMode;
  }
  {
    Network net;
    Ctx& c = net.root();
    PS2 sc = sin_cos(c);
    EXPECT_EQ(net.expect("sin/cos", Mul(c, sc.a, Recip(c, sc.b)), first(kTan, kTerms)), "");
  }
}

// What the first runs of powser met, alone (known defect, mechanism not found): a ring of
// kRing goroutines passes a token, each receiving it from its left link and sending it on to
// its right one with selects that also have a receive case on one shared channel nobody sends
// on (powser's stop). In Go, and in ceramic with max_waiters = 1024 on the shared channel, the
// token goes round at once (process mode: about 0.4 ms a hop for 150; 30 us without the shared
// case). With ChanOptions' default max_waiters (64) a hop takes 2 ms from 72 goroutines, 36 ms
// at 100, and at 150 the token does not come round within 30 s; thread mode completes, 20 times
// slower than with room (0.6 ms a hop, 28 us). The control (max_waiters = 1024) runs first. Skipped unless CERAMIC_GO_KNOWN_DEFECTS is set.
std::string ring_with_a_shared_case(std::size_t max_waiters) {
  constexpr int kRing = 150;
  constexpr int kLaps = 3;
  Chan<int> shared(ceramic::ChanOptions{.max_waiters = max_waiters});
  std::vector<Chan<int>> link(kRing);
  auto never = [](std::optional<int>) { throw std::logic_error("the shared channel fired"); };
  Group ring;
  for (int k = 1; k < kRing; ++k) {
    ring.go("hop " + std::to_string(k), [&, k] {
      const Chan<int>& in = link[static_cast<std::size_t>(k)];
      const Chan<int>& out = link[static_cast<std::size_t>((k + 1) % kRing)];
      for (int lap = 0; lap < kLaps; ++lap) {
        int v = 0;
        select(on_recv(in, [&](std::optional<int> x) { v = x.value_or(-1); }),
               on_recv(shared, never), or_give_up("hop receive"));
        select(on_send(out, v + 1, [] {}), on_recv(shared, never), or_give_up("hop send"));
      }
    });
  }
  std::string out;
  const auto t0 = Clock::now();
  for (int lap = 0; lap < kLaps && out.empty(); ++lap) {
    int v = 0;
    if (link[1].send_for(0, std::chrono::seconds(10)) != ceramic::Status::ok ||
        link[0].recv_for(v, std::chrono::seconds(10)) != ceramic::Status::ok) {
      out = "the token did not come round a ring of " + std::to_string(kRing) +
            " within 10 s (lap " + std::to_string(lap) + ", the shared channel's max_waiters " +
            std::to_string(max_waiters) + ")\n";
    } else if (v != kRing - 1) {
      out = "the token came round as " + std::to_string(v) + "\n";
    }
  }
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
  std::cerr << kMode << ": max_waiters " << max_waiters << ": "
            << us.count() / (kLaps * kRing) << " us a hop\n";
  for (Chan<int>& l : link) l.close();  // ends the hops still waiting
  shared.close();
  (void)ring.wait();  // hops released by close report it: the outcome is the token's
  return out;
}

TEST(GoPowser, KnownDefectSelectsBesideAChannelWithManyWaitersSlowDownOrStall) {
  if (std::getenv("CERAMIC_GO_KNOWN_DEFECTS") == nullptr) {
    GTEST_SKIP() << "known defect (CERAMIC_GO_KNOWN_DEFECTS=1 runs it): a ring of 150 "
                    "goroutines passing a token with selects that also wait on one shared "
                    "channel of the default max_waiters (64): process mode slows down from about 72 "
                    "of them (2 ms a hop, 36 ms at 100) and stalls at 150 (no lap in 10 s), "
                    "thread mode takes 0.6 ms a hop; with max_waiters 1024 0.3 ms and 28 us";
  }
  EXPECT_EQ(ring_with_a_shared_case(1024), "") << kMode << ": control";
  EXPECT_EQ(ring_with_a_shared_case(64), "") << kMode;
}

}  // namespace
