//! Memory-aware task order. Tasks are numbered by a depth-first post-order
//! walk from the output blocks: a task's inputs come just before it, so the
//! executor (always picking the ready task with the smallest number) finishes
//! the work that lets chunks be freed before starting new roots. Also builds
//! the compact reverse edges (who reads each task) and consumer counts.

use super::{LayerId, TaskGraph, TaskId};

/// Everything the executor needs to schedule a task graph.
pub struct Schedule {
    /// Priority of each task (smaller runs first); `u32::MAX`: not needed.
    pub priority: Vec<u32>,
    /// Number of reads of each task's output (edges, with multiplicity), plus
    /// one for every output block.
    pub consumers: Vec<u32>,
    /// Number of inputs of each task (edges, with multiplicity).
    pub n_deps: Vec<u32>,
    /// Reverse edges in compressed rows: the readers of task t are
    /// `dependents[dep_start[t]..dep_start[t + 1]]`.
    pub dep_start: Vec<u32>,
    pub dependents: Vec<u32>,
    /// Tasks needed, in priority order.
    pub order: Vec<u32>,
}

impl Schedule {
    pub fn readers(&self, t: TaskId) -> &[u32] {
        &self.dependents[self.dep_start[t] as usize..self.dep_start[t + 1] as usize]
    }
    pub fn n_needed(&self) -> usize {
        self.order.len()
    }
}

/// Order the tasks needed for the output layers' blocks.
pub fn schedule(g: &TaskGraph) -> Schedule {
    schedule_blocks(g, &|_, _| true)
}

/// Order the tasks needed for the output blocks that `wanted(output, block
/// index within the output layer)` keeps; tasks only the other blocks need are
/// not run (`priority` stays `u32::MAX`).
pub fn schedule_blocks(g: &TaskGraph, wanted: &dyn Fn(usize, usize) -> bool) -> Schedule {
    let n = g.ntasks();
    assert!(n < u32::MAX as usize, "more than 4 billion tasks");
    let mut priority = vec![u32::MAX; n];
    let mut consumers = vec![0u32; n];
    let mut n_deps = vec![0u32; n];
    let mut edges: Vec<(u32, u32)> = Vec::new(); // (dep, reader)
    let mut order: Vec<u32> = Vec::new();
    let mut block = Vec::new();
    let mut deps = Vec::new();
    // explicit DFS stack: (task, expanded?)
    let mut stack: Vec<(TaskId, bool)> = Vec::new();
    let mut visited = vec![false; n];
    for (oi, &out) in g.outputs.iter().enumerate() {
        let start = g.first_task(out);
        for t in start..start + g.layers[out].ntasks() {
            if !wanted(oi, t - start) {
                continue;
            }
            consumers[t] += 1;
            push_root(t, &mut stack);
            while let Some((t, expanded)) = stack.pop() {
                if expanded {
                    priority[t] = order.len() as u32;
                    order.push(t as u32);
                    continue;
                }
                if visited[t] {
                    continue;
                }
                visited[t] = true;
                stack.push((t, true));
                let l: LayerId = g.locate(t, &mut block);
                g.deps(l, &block, &mut deps);
                n_deps[t] = deps.len() as u32;
                // push in reverse so the first input is visited first
                for &d in deps.iter().rev() {
                    consumers[d] += 1;
                    edges.push((d as u32, t as u32));
                    if !visited[d] {
                        stack.push((d, false));
                    }
                }
            }
        }
    }
    // counting sort of edges by dep
    let mut dep_start = vec![0u32; n + 1];
    for &(d, _) in &edges {
        dep_start[d as usize + 1] += 1;
    }
    for i in 0..n {
        dep_start[i + 1] += dep_start[i];
    }
    let mut fill = dep_start.clone();
    let mut dependents = vec![0u32; edges.len()];
    for &(d, r) in &edges {
        dependents[fill[d as usize] as usize] = r;
        fill[d as usize] += 1;
    }
    Schedule { priority, consumers, n_deps, dep_start, dependents, order }
}

fn push_root(t: TaskId, stack: &mut Vec<(TaskId, bool)>) {
    stack.push((t, false));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::Chunks;
    use crate::dtype::{DType, Scalar};
    use crate::expr::{Program, Source};
    use crate::task::{InputRef, Layer, LayerKind};

    fn chain(nblocks: usize) -> TaskGraph {
        let mut g = TaskGraph::default();
        let chunks = Chunks::new(&[nblocks], vec![vec![1; nblocks]]).unwrap();
        let src = g.push(Layer {
            kind: LayerKind::Source { source: Source::Full(Scalar::F64(1.0)), shape: vec![nblocks] },
            grid: vec![nblocks],
            chunks: Some(chunks.clone()),
            dtype: DType::F64,
            block_bytes: 8,
            node: "src".into(),
        });
        let m = g.push(Layer {
            kind: LayerKind::Map {
                program: Program::identity(DType::F64),
                inputs: vec![InputRef { layer: src, offset: 0, bcast: vec![false], inline: None }],
            },
            grid: vec![nblocks],
            chunks: Some(chunks),
            dtype: DType::F64,
            block_bytes: 8,
            node: "map".into(),
        });
        g.outputs.push(m);
        g
    }

    #[test]
    fn depth_first_each_input_right_before_its_reader() {
        let g = chain(4);
        let s = schedule(&g);
        // order: src0, map0, src1, map1, ...: never all sources first
        let order: Vec<u32> = s.order.clone();
        assert_eq!(order, vec![0, 4, 1, 5, 2, 6, 3, 7]);
        assert_eq!(s.readers(0), &[4]);
        assert_eq!(s.consumers[4], 1);
        assert_eq!(s.n_deps[4], 1);
    }

    #[test]
    fn unwanted_output_blocks_and_their_inputs_are_not_scheduled() {
        let g = chain(4);
        let s = schedule_blocks(&g, &|_, b| b % 2 == 1);
        assert_eq!(s.order, vec![1, 5, 3, 7]);
        assert_eq!(s.priority[0], u32::MAX);
        assert_eq!(s.n_needed(), 4);
    }

    #[test]
    fn scheduling_twice_gives_the_same_order() {
        let g = chain(7);
        assert_eq!(schedule(&g).order, schedule(&g).order);
    }
}
