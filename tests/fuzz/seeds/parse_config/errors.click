# 10 "other.click"
a :: Idle; a :: Idle; b -> c; x :: Nope; a[0, 1] -> [0, 1, 2]Discard;
elementclass E { input -> output; output -> input } /* open
