//! Sorting without a copy of the sort algorithm per element type. A stable sort is a lot of
//! code, and statesync sorts elements of every model type (diffs are kept in key order):
//! here the algorithm runs once, non-generic, on indices compared through a `&dyn Fn`, and
//! only the small permutation that follows is compiled per type.

use std::cmp::Ordering;

/// The stable order of `len` items compared by index, or `None` when they are in order
/// already (the common case: stores and diffs mostly come sorted).
fn sorted_indices(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Option<Vec<usize>> {
    if (1..len).all(|at| cmp(at - 1, at) != Ordering::Greater) {
        return None;
    }
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    Some(order)
}

/// Sorts `items` stably by the key `key` borrows from each.
pub(crate) fn sort_by_key_ref<T, K: Ord + ?Sized>(items: &mut Vec<T>, key: impl Fn(&T) -> &K) {
    let compare = |a: usize, b: usize| items.get(a).map(&key).cmp(&items.get(b).map(&key));
    let Some(order) = sorted_indices(items.len(), &compare) else {
        return;
    };
    let mut slots: Vec<Option<T>> = std::mem::take(items).into_iter().map(Some).collect();
    items.extend(
        order
            .into_iter()
            .filter_map(|at| slots.get_mut(at).and_then(Option::take)),
    );
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
        let mut empty: Vec<(u8, char)> = Vec::new();
        sort_by_key_ref(&mut empty, |item| &item.0);
        assert!(empty.is_empty());
    }
}
