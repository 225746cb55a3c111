//! Plan tests: what the optimizer and scheduler make of an expression.

use floe::{random, Executor};

#[test]
fn fused_chain_feeds_the_reduction_one_program_per_chunk() {
    let a = random::uniform([40, 30], 0.0, 1.0, 10, 1).unwrap();
    let b = random::uniform([40, 30], 0.0, 1.0, 10, 2).unwrap();
    let s = (&a * 2.0 + &b).sin().sum(..).unwrap();
    let plan = s.explain();
    // one expression node for the whole chain + reduction, over the two sources
    let graph: Vec<&str> = plan.split("-- tasks --").next().unwrap().lines().collect();
    assert_eq!(graph.len(), 3, "{plan}");
    assert!(graph[2].contains("sum(axes=[0, 1]) <- fused[sin(((in0 * 2.0) + in1))]"), "{plan}");
    // tasks: the fused program runs once per chunk (12 chunks) in the partial layer
    assert!(plan.contains("sum-partial <- fused[sin(((in0 * 2.0) + in1))] <- inline random-uniform, random-uniform tasks=12"), "{plan}");
    assert!(!plan.contains("L3: fused"), "no separate elementwise layer: {plan}");
    let (_, stats) = Executor::cpu().threads(2).compute_with_stats(&s).unwrap();
    assert_eq!(stats.tasks_named("sum-partial"), 12);
    assert_eq!(stats.tasks_named("fused"), 0);
}

#[test]
fn compute_many_evaluates_shared_chunks_once() {
    let x = random::normal([60, 50], 0.0, 1.0, [20, 25], 3).unwrap();
    let x = (&x * 3.0).exp();
    let s = x.sum(..).unwrap();
    let m = x.mean(..).unwrap();
    let ex = Executor::cpu().threads(2);
    let (vals, stats) = ex.compute_many_with_stats(&[&s, &m]).unwrap();
    // x has 3 x 2 = 6 chunks: the exp program (which generates its random
    // block inline) runs once per chunk, though two reductions read x
    assert_eq!(stats.tasks_named("fused[exp((in0 * 3.0))] <- inline random-normal"), 6, "{stats:?}");
    assert_eq!(stats.tasks_named("random-normal"), 0, "{stats:?}");
    let whole = ex.compute(&x).unwrap();
    let sum: f64 = whole.iter().sum();
    assert!((vals[0].first().unwrap() - sum).abs() <= 1e-9 * sum.abs());
    assert!((vals[1].first().unwrap() - sum / 3000.0).abs() <= 1e-9 * sum.abs());
}

#[test]
fn live_chunks_stay_bounded_over_many_chunks() {
    // 1,000 chunks of a long elementwise chain + reduction: the peak number of
    // chunks held must not grow with the number of chunks
    let mut peaks = Vec::new();
    for n in [100usize, 1000] {
        let x = random::uniform([n * 10, 10], 0.0, 1.0, 10, 9).unwrap();
        let y = floe::ones::<f64>([n * 10, 10], 10).unwrap();
        let z = ((&x + &y).sqrt() * 3.0 - &y).abs().sum(..).unwrap();
        let (_, st) = Executor::cpu().threads(2).compute_with_stats(&z).unwrap();
        assert!(st.tasks > n, "{st:?}"); // a partial per chunk (sources are made inline) plus the tree
        peaks.push(st.peak_live_chunks);
        // partials (a few bytes each): per tree level, at most split_every - 1
        // waiting for each thread that may run ahead
        let levels = (n as f64).log(8.0).ceil() as usize;
        assert!(st.peak_live_partials <= 3 * 7 * levels, "{st:?}");
    }
    // a constant bound (threads x inputs per task), the same for 100 and 1,000 chunks
    assert!(peaks.iter().all(|&p| p <= 8), "peak live chunks grows: {peaks:?}");
}
