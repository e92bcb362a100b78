// Print and IPPrint text formats, checked against Click 2.1.
FromDump($IN, STOP true)
  -> Print(eth, 20)
  -> Print(TIMESTAMP true, MAXLENGTH 8)
  -> Strip(14) -> CheckIPHeader
  -> IPPrint(ip)
  -> IPPrint(all, PAYLOAD HEX, ID true, TTL true, TOS true, LENGTH true, MAXLENGTH 12)
  -> IPPrint(swap, SWAP true, TIMESTAMP false, PAYLOAD ASCII, MAXLENGTH 6)
  -> Print(MAXLENGTH 4, CONTENTS ASCII)
  -> Discard;
DriverManager(wait_stop, stop);
