// The seed README's race with its unlucky order forced, so that it deadlocks every time:
// main waits until B has exited (B can only exit after A met it) before it writes.
// Run it under ceramic-run: exit status 3 and a report naming main's blocked send.
#include <ceramic/ceramic.hpp>

int main() {
  // [doc:forced]
  ceramic::Chan<int> chan;
  ceramic::Proc a("A", [&] { chan.send(1); });   // A writes
  ceramic::Proc b("B", [&] { chan.recv(); });    // B reads
  b.join();        // force the unlucky order: B exits only after A met it
  chan.send(2);    // main writes: nobody is left to read it
  chan.recv();
  // [/doc:forced]
  return 0;
}
