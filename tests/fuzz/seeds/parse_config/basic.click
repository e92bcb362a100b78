define($X 2, $Y ${X-3});
a :: Idle -> c :: Counter -> q :: Queue($Y) -> d :: Discard;
a[1] -> [1]d; Idle -> Tee(2) => Null, (-> Null ->) -> Discard;
