// ceramic — the shared-memory layout of one channel.
//
// THREAT MODEL.
//
// Who may write what. A channel's region is mapped MAP_SHARED, read-write, by every process that
// holds the channel, and each of them may write any byte of it at any time: through a bug, or on
// purpose. Who can hold it:
//   - an anonymous channel: the creating process and the children it forks (the mapping is
//     inherited; nobody else can reach it);
//   - a named channel (/dev/shm/ceramic.<name>): the processes of the creator's user, in the
//     creator's pid namespace. The object is created 0600; open() refuses an object of another
//     user or that others may write unless the caller passes OpenOptions::allow_foreign_owner,
//     and refuses one made in another pid namespace (its pids would name other processes).
// The trace file (CERAMIC_TRACE) is written by every traced process of the tree; it is attached
// only if it is a regular file of this user that others cannot write (trace_file.hpp).
//
// What a peer that holds the channel can do: make operations on that channel fail (ChannelError:
// "channel state corrupt"), time out, report closed or peer_died, or deliver values it forged
// (it could send them anyway); make untimed operations on that channel wait forever (it could
// simply never answer). What it must not be able to do, and what the code holds to: crash
// another process, make it read or write outside the region and its own buffers, allocate
// without bound, or hold a timed operation past its deadline. Hence:
//   - geometry (offsets, counts, sizes, the longest value) is computed once per process and kept
//     in a private Geometry, never re-read from the region; every index and length read from the
//     region is copied once and bounds-checked before use (a length sizes nothing before it is
//     checked against the channel's own maximum); an address or a pid read from the region is
//     never trusted (LARGE VALUES);
//   - the channel lock is taken with the operation's deadline, so a stopped or fake holder
//     delays a timed operation only until its deadline;
//   - nothing in the region is an address that the kernel or libc will follow or write
//     through. The channel lock and the slot owners name their holder by process identity
//     (pid and start time, identity.hpp), and a dead holder is detected by asking the kernel
//     (pidfd, /proc), never by a mark the kernel leaves in the region. (Until layout version 4
//     they were glibc robust mutexes, whose robust-list links live inside the mutex: a peer
//     that rewrote them made the victim's next unlock write wherever it pointed, and could read
//     the victim's TLS addresses there.) A dead lock holder's half-done update is repaired
//     (repair_locked, slots.cpp) from per-slot state; a dead slot owner's slot is reclaimed.
//
// REGION
//   [Header][mask words: send[W], recv[W] beyond the first][Slot x slot_count][RingEntry x cap]
// std::string channels also keep their backing file (a memfd, or the named shm object) open:
// long values are parked in that file past the region, at offsets handed out by heap_top, and
// the receiver punches the hole it read (LARGE VALUES). The kernel frees whatever is left when
// the last process holding the channel exits, however it exits.
//
// INVARIANTS (hold whenever the channel lock is free)
//   I1. A slot's bit is set in send_mask/recv_mask  <=>  its state is kWaiting with that kind
//       and its owner thread is alive. (Repair recomputes the masks from the slots.)
//   I2. At least one of sendq and recvq is empty, except transiently while a waiter's owner
//       has died (dead waiters are skipped and freed by whoever dequeues them).
//   I3. Buffered: ring count > 0 implies recvq is empty; sendq non-empty implies count == cap.
//   I4. A slot in any state other than kFree is owned: its owner word holds the identity of
//       the process whose thread reserved it, until that thread sets kFree and clears it.
//       A slot is reserved only when both are clear (kFree, owner 0), or its owner is dead.
//   I5. After close, no slot is queued and nothing is ever added to the ring.
//
// SLOT STATES (Slot::state, a futex word; kSleeper is or-ed in by a waiter about to sleep)
//   kFree     -> kReserved     owner, under the lock (reserve_locked)
//   kReserved -> kWaiting      owner, under the lock, when it queues itself
//   kWaiting  -> kDone         partner, under the lock: value delivered into / taken from slot
//   kWaiting  -> kClosed       close(), under the lock
//   kWaiting  -> kPulling      receiver, under the lock: it will read the sender's large value
//   kPulling  -> kDone         receiver, under the lock, after its copy, if the offer is still
//                              in place and its owner alive (else the copy is discarded)
//   kPulling  -> kSpillReq     receiver, under the lock: it will not read the sender's memory
//   kSpillReq -> kSpillReady   owner (sender), no lock: value parked in the value file
//   kSpillReady -> kDone       receiver, under the lock: parked value read and punched out
//   kReserved -> kPulling      sender, under the lock, on its own slot before it offers a large
//                              value to a queued receiver (the receiver then pulls it)
//   kWaiting  -> kLargeOffer   sender, under the lock, on the receiver's slot
//   kPulling, kSpillReq, kSpillReady -> kReserved
//                              owner (a timed sender), no lock, by CAS, at its deadline plus
//                              the grace: the offer is withdrawn. Hence every partner's move
//                              out of these states is a CAS from the state it saw (under the
//                              lock), and fails once the offer is withdrawn
//   kWaiting  -> kReserved     select slot: its owner (a timed select whose lock is not had
//                              by its deadline plus the grace), no lock, by CAS; every move of
//                              a select slot out of kWaiting is a CAS (kOffered, kNudged,
//                              kClosed), and its queue bit stays set until the next dequeue
//                              drops it (I1 holds again then)
//   kProposed -> kReserved     owner (a timed receiver), no lock, by CAS, at its deadline plus
//                              the grace: the proposal is withdrawn; the select's answer is a
//                              CAS from kProposed (answer_locked), and fails once it is
//   any       -> kFree         owner, no lock, once no one else can reach the slot
// Only the owner frees a slot, and only after it has been dequeued, so a slot is never
// reached through a mask after it was freed (I1).
//
// SELECT. A selecting thread queues one slot per case (kind | kSelectFlag), in each case's
// channel, and sleeps on all of them (futex_waitv). A partner that dequeues a select slot S
// cannot complete it: another case may be completing at the same moment in a channel it
// cannot lock. It proposes instead, under S's channel lock, and waits on a slot P of its own:
//   sender:   value into S (inline; or ValueRef addr/spill), S.ref.src_slot/ticket = P,
//             P: kReserved -> kPulling (puller = S),      S: kWaiting -> kOffered
//   receiver: S.ref.puller_slot/ticket = P,
//             P: kReserved -> kProposed (src = S),       S: kWaiting -> kOffered
// The selecting thread withdraws all its slots, accepts at most one offer and declines the
// rest (P -> kDeclined: the proposer retries with its value intact). Accepting completes P
// like any partner would (kDone, or kLargeOffer / a pull for long values). A receiver that
// moves a queued sender into a buffered channel's ring nudges a select slot instead
// (kWaiting -> kNudged): the select polls again and finds the room.
//
// LARGE VALUES (longer than inline_bytes; offers.hpp, values.cpp, waiters.cpp)
//   Buffered channels park them in the value file before queueing (RingEntry::spill,
//   ValueRef::spill). Unbuffered: the sender's slot is in kPulling with ValueRef {src_pid,
//   addr, src_slot, src_ticket}, and the receiver, holding a slot of its own (the sender's
//   proof that it lives), copies the value:
//   - src_pid is the receiver's own pid: only from the address the sending thread registered
//     in the process's private registry (OwnOffer) under (channel id, src_slot, src_ticket).
//     ValueRef::addr is never dereferenced.
//   - another pid: one process_vm_readv(src_pid) of the sender's record of the offer (at the
//     address in its own slot's ValueRef::proof) and of the value (at addr). It reads only
//     memory that is mapped there and that ptrace rules let us read, and the value is used
//     only if the record names this channel, src_slot, src_ticket, addr and len: a forged
//     offer can at most copy a value that some process really offers here. The copy counts
//     only if afterwards, under the lock, the sender's slot still holds src_ticket in
//     kPulling and its owner is alive: the owner's identity carries its start time, so a
//     process that took over the pid is judged dead, never read with status ok
//     (complete_sender).
//   - not permitted (Yama ptrace_scope, credentials, CERAMIC_FORCE_SPILL), not registered or
//     no such record (a select that has not reached wait_sender yet, or a forged offer), or
//     unreadable while the sender lives: kSpillReq. The sender parks the value, recording its place in its own
//     slot's ValueRef::spill before it writes it, then kSpillReady; the receiver reads it,
//     punches it out and completes the sender.
//   Every length is checked against the channel's max_value_bytes (Geometry::max_value, taken
//   once at create/open) before the receiver makes room for it; a bad one is ChannelError.
//   A parked value has one owner at a time: the slot of the sender that parked it (until it
//   is queued in the ring or handed over, under the lock), a ring entry, or the slot of the
//   receiver reading it (its own slot in kDone, or a transfer slot it holds in kReserved,
//   recorded once the value is its own: hold_parked_locked). The receiver punches it out once
//   read; whoever reclaims a dead owner's slot frees the value it records (reclaim_locked).
//   Not covered: a buffered sender (Channel::send, select) killed between parking its value
//   and queueing or handing it over, and a select killed between accepting a parked value and
//   reading it, leave it in the file until the channel goes.
//
// MEMORY ORDERING
//   - Everything written under the channel lock is published by the lock's release (the
//     unlock's release exchange, paired with the next holder's acquire CAS: owner_lock.hpp).
//   - Slot owner: reserve_locked claims it by CAS 0 -> identity (acquire) after reading kFree
//     (acquire); the owner frees its slot by storing kFree, then owner 0 (both release), so a
//     slot seen with owner 0 was seen in kFree too.
//   - Slot::state stores that complete an operation (kDone, kClosed, kLargeOffer, kSpillReady)
//     are release (exchange acq_rel) and pair with the waiter's acquire load of state in
//     wait_state(); the value bytes and ValueRef written before them are visible after it.
//   - The sleeper bit: a waiter CASes kSleeper in (acq_rel) before futex_wait; a completer's
//     exchange returns it, and only then does the completer call futex_wake. A single atomic
//     word carries both, so no wake is lost and none is issued needlessly.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ceramic::detail {

inline constexpr std::uint64_t kMagic = 0x314e414843524543ull;  // "CERCHAN1"
// 2: the creator's pid namespace; 3: the longest value; 4: the channel lock and slot owners
// are process identities (owner_lock.hpp, identity.hpp), no longer glibc robust mutexes;
// 5: the express line (ExpressLine, express.hpp); 6: its park count (receivers park without
// the lock), 32 value bytes.
inline constexpr std::uint32_t kVersion = 6;
inline constexpr std::size_t kMaxWaiters = 1024;
inline constexpr std::size_t kMaxInlineBytes = 1u << 20;
inline constexpr std::size_t kMaxCapacity = 1u << 20;
inline constexpr std::size_t kMaxRegionBytes = std::size_t{1} << 32;
// The largest ChanOptions::max_value_bytes. A length read from shared memory is checked against
// the channel's own maximum (Geometry::max_value), never against this alone.
inline constexpr std::uint64_t kMaxValueBytes = std::uint64_t{1} << 40;

enum SlotState : std::uint32_t {
  kFree = 0,
  kReserved = 1,
  kWaiting = 2,
  kDone = 3,
  kClosed = 4,
  kPulling = 5,
  kSpillReq = 6,
  kSpillReady = 7,
  kLargeOffer = 8,
  kOffered = 9,    // select slot: a partner proposes (see "SELECT" above)
  kProposed = 10,  // a receiver's own slot while it proposes to a select's send slot
  kDeclined = 11,  // a proposer's slot: the select chose another case; retry
  kNudged = 12,    // select slot: its buffered channel has room now; the select polls again
};
inline constexpr std::uint32_t kSleeper = 1u << 31;
inline constexpr std::uint32_t kStateMask = ~kSleeper;

enum SlotKind : std::uint32_t { kSendKind = 1, kRecvKind = 2 };
inline constexpr std::uint32_t kKindMask = 3;
inline constexpr std::uint32_t kSelectFlag = 4;  // or-ed into SlotHead::kind by select

// Header. Written once by the creator before kMagic is published (release); read-only after.
struct HeaderInfo {
  std::atomic<std::uint64_t> magic;  // release-stored last by the creator; acquire on attach
  std::uint32_t version;
  std::uint32_t elem_size;    // 0: byte strings
  std::uint64_t type_tag;
  std::uint64_t region_bytes;
  std::uint64_t channel_id;
  std::uint64_t max_value_bytes;  // the longest value (elem_size for fixed-size values)
  std::uint32_t capacity;
  std::uint32_t max_waiters;  // slots: 2 x max_waiters (queue pool, transfer pool)
  std::uint32_t inline_bytes;  // value bytes a slot / ring entry holds inline
  std::int32_t creator_pid;
  std::int32_t creator_line;
  char creator_file[100];
  // The creator's pid namespace (/proc/self/ns/pid: device and inode; 0 if unknown). Peers are
  // named by pid in the slots (src_pid, owners), which means nothing in another namespace: a
  // process of another pid namespace may not open the channel.
  std::uint64_t pidns_dev;
  std::uint64_t pidns_ino;
};

// The lock line: everything an operation touches under the lock when it meets a partner.
struct alignas(64) LockLine {
  // The channel lock (owner_lock.hpp): 0, or the holder's process identity and a waiters bit.
  // Protects everything marked "lock".
  std::atomic<std::uint64_t> lock;
  std::uint32_t flags;         // lock. bit 0: closed; bits 1-31: the change count, bumped by every
                               // change that can make an operation ready (select.cpp, "Giving
                               // up"). Read without the lock too: closed(), change_count()
  std::uint32_t next_ticket;   // lock. FIFO order of queued waiters (wraps; compared mod 2^32)
  std::uint64_t send_mask0;    // lock. queued senders among slots 0..63
  std::uint64_t recv_mask0;    // lock. queued receivers among slots 0..63
};

struct alignas(64) RingLine {
  std::uint64_t ring_state;    // lock. head (low 32) | count (high 32): one store, never torn
  // lock. A receiver that moves a queued sender's value into the ring must make two stores
  // (ring_state, the sender's kDone). It logs them here first (move_slot, 1-based, is the
  // commit word, stored last with release) and clears the log after; a repair replays a
  // committed log, so the move happens entirely or not at all.
  std::uint32_t move_slot;
  std::uint32_t move_ticket;
  std::uint64_t move_ring_state;
  std::uint64_t heap_top;      // lock. next free offset in the value file (string channels)
};

struct alignas(64) SlotWaitLine {
  std::atomic<std::uint32_t> gen;      // bumped when a slot is freed while someone waits for one
  std::atomic<std::uint32_t> waiting;  // threads waiting for a free slot
};

// The express line: the one-line hand-off of express.hpp. One receiver of an unbuffered
// channel whose values all fit in `data` may wait here instead of in a slot, and a sender
// completes it without the channel lock. Its own protocol (express.hpp), not the lock's.
inline constexpr std::size_t kExpressBytes = 32;
struct alignas(64) ExpressLine {
  std::atomic<std::uint32_t> state;  // futex word; ExpressState, kSleeper or-ed in by the waiter
  std::atomic<std::uint32_t> len;    // written by the claimer before its CAS to kXDone
  std::atomic<std::uint64_t> owner;  // the waiting receiver's process identity; written by
                                     // the parker holding claim, before its kXWaiting (release)
  std::atomic<std::uint64_t> claim;  // 0, or the identity of the process that holds the line
                                     // (CAS; express.hpp says who clears it and when)
  std::atomic<std::uint32_t> parks;  // receivers parked here so far (wraps); written by the
                                     // parker holding claim (release), read by change_count
                                     // (acquire, slots.hpp): part of the change count
  std::uint32_t pad;
  unsigned char data[kExpressBytes];
};
static_assert(sizeof(ExpressLine) == 64);
enum ExpressState : std::uint32_t {
  kXEmpty = 0,    // no one waits here
  kXWaiting = 1,  // a receiver waits (owner); a sender holding claim may be writing its value
  kXDone = 3,     // the value is there: the receiver takes it and empties the line
  kXClosed = 4,   // the channel was closed while the receiver waited
};

struct Header {
  HeaderInfo info;
  LockLine l;
  RingLine r;
  SlotWaitLine w;
  ExpressLine x;
};

// How a value reaches its receiver, and who is on the other end of a large transfer.
// Written by whoever provides the value (spill, addr, src_*) or pulls it (puller_*), under the
// lock or before the state store that publishes it. See LARGE VALUES for what is trusted.
struct ValueRef {
  // != 0: where the value is parked: 1 + its offset in the channel's value file (see
  // Region::value_fd). Buffered channels: parked before it is queued. Unbuffered: parked by a
  // sender whose receiver asked (kSpillReq), recorded here before the bytes are written.
  std::uint64_t spill;
  // != 0: the value is at this address in src_pid (pull it with process_vm_readv; never
  // dereferenced, not even when src_pid is the reader's own pid)
  std::uint64_t addr;
  std::int32_t src_pid;         // the sender
  std::uint32_t src_slot;       // the sender's slot, completed once the value is pulled
  std::uint32_t src_ticket;     // ... and the ticket it must still hold (else it was reused)
  std::uint32_t puller_slot;    // on a sender's slot: the receiver's slot while kPulling
  std::uint32_t puller_ticket;  // ... and its ticket
  std::int32_t peer_pid;        // tracing only: the partner that completed this slot
  // On a sender's own slot, != 0 once it has registered its long value: the address, in
  // src_pid, of its private record of the offer (OwnOffer), which a puller in another process
  // reads with the value and checks (read_offer). Atomic: a select's sender writes it after
  // its offer is visible.
  std::uint64_t proof;
};

// The first cache line of a slot holds what a partner touches to complete a small operation:
// the state word the owner spins on, the length, the owner's identity, and the first
// value bytes. More value bytes follow contiguously, then SlotTail.
struct SlotHead {
  std::atomic<std::uint32_t> state;  // futex word; see SLOT STATES
  std::uint32_t kind;                // owner, while reserved: kSendKind / kRecvKind
  std::uint64_t len;                 // value length (written by whoever provides the value)
  // The owning process's identity (identity.hpp), 0 while free: its liveness is the slot's
  // (I4). Claimed by CAS in reserve_locked, cleared by the owner after kFree (release_slot),
  // or by whoever reclaims the slot of a dead owner (reclaim_locked).
  std::atomic<std::uint64_t> owner;
  // value bytes start here (offsetof == kSlotDataOffset)
};
inline constexpr std::size_t kSlotDataOffset = sizeof(SlotHead);

struct SlotTail {
  std::uint32_t ticket;   // lock
  std::int32_t pid;       // owner
  std::int32_t tid;       // owner
  std::uint32_t pad;
  ValueRef ref;
};

struct RingEntry {
  std::uint64_t len;
  std::uint64_t spill;  // 0: inline; else 1 + offset in the value file
  // inline value bytes follow
};

static_assert(std::is_trivially_destructible_v<Header>);
static_assert(std::is_trivially_destructible_v<SlotHead>);
static_assert(std::is_trivially_copyable_v<SlotTail>);
static_assert(sizeof(LockLine) == 64, "the lock line must stay one cache line");
static_assert(sizeof(ExpressLine) == 64, "the express line must stay one cache line");
static_assert(kSlotDataOffset + 8 <= 64, "8-byte values must share the slot's first line");

}  // namespace ceramic::detail
