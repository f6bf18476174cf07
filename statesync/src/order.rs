//! Sorting without a copy of the sort algorithm per element type. A stable sort is a lot of
//! code, and statesync sorts elements of every model type (diffs are kept in key order):
//! here the algorithm runs once, non-generic, on indices compared through a [`Callback`], and
//! what is compiled per type is the comparison and the swaps that follow.

use std::cmp::Ordering;

use crate::callback::Callback;

/// The swaps that sort `len` items, compared by index, stably: applied in order to the
/// items, `swap(a, b)` each. Empty when they are in order already (the common case: stores
/// and diffs mostly come sorted).
fn sorting_swaps(len: usize, cmp: &dyn Callback<(usize, usize), Ordering>) -> Vec<(usize, usize)> {
    if (1..len).all(|at| cmp.run((at - 1, at)) != Ordering::Greater) {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|&a, &b| cmp.run((a, b)));
    // `held[at]`: the item now at position `at`; `place[item]`: the position of `item`.
    let mut held: Vec<usize> = (0..len).collect();
    let mut place: Vec<usize> = (0..len).collect();
    let mut swaps = Vec::new();
    for (at, &item) in order.iter().enumerate() {
        let Some(&from) = place.get(item) else {
            continue;
        };
        if from != at {
            swaps.push((at, from));
            held.swap(at, from);
            for position in [at, from] {
                if let Some(&moved) = held.get(position)
                    && let Some(slot) = place.get_mut(moved)
                {
                    *slot = position;
                }
            }
        }
    }
    swaps
}

/// Sorts `items` stably by the key `key` borrows from each. The sort runs on indices, once
/// for every type; what is compiled per type is the comparison and a loop of swaps.
pub(crate) fn sort_by_key_ref<T, K: Ord + ?Sized>(items: &mut [T], key: impl Fn(&T) -> &K) {
    let compare = |(a, b): (usize, usize)| items.get(a).map(&key).cmp(&items.get(b).map(&key));
    for (a, b) in sorting_swaps(items.len(), &compare) {
        items.swap(a, b);
    }
}

#[cfg(test)]
mod tests {
    use super::sort_by_key_ref;

    #[test]
    fn sorts_stably_and_leaves_sorted_input_alone() {
        let mut items = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        sort_by_key_ref(&mut items, |item| &item.0);
        assert_eq!(items, [(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')]);
        let mut sorted = vec![(1, 'x'), (1, 'y'), (2, 'z')];
        sort_by_key_ref(&mut sorted, |item| &item.0);
        assert_eq!(sorted, [(1, 'x'), (1, 'y'), (2, 'z')]);
        let mut reversed: Vec<(usize, usize)> = (0..50).rev().map(|at| (at / 3, at)).collect();
        sort_by_key_ref(&mut reversed, |item| &item.0);
        let mut expected: Vec<(usize, usize)> = (0..50).map(|at| (at / 3, at)).collect();
        expected.sort_by_key(|item| (item.0, std::cmp::Reverse(item.1)));
        assert_eq!(reversed, expected);
        let mut empty: Vec<(u8, char)> = Vec::new();
        sort_by_key_ref(&mut empty, |item| &item.0);
        assert!(empty.is_empty());
    }
}
