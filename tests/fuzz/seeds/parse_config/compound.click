elementclass Two { $n, KW $k, __REST__ $r |
  input -> p :: Paint($n) -> output;
  input[1] -> Strip($k) -> [1]output;
}
elementclass Tap { input -> c :: Counter -> output || $f | input -> Discard; || ... }
elementclass Sink Discard;
s :: Idle => t :: Two(1, KW 2, x, y) => Tap, Tap(f) -> Sink;
s -> { $c | input -> Paint($c) -> output }(7) -> [0]Discard;
