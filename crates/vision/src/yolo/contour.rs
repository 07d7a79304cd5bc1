//! Binary mask → polygon: the outer boundary of the largest 8-connected component (Moore
//! neighbour tracing, like OpenCV's `findContours` with `CHAIN_APPROX_NONE`), then
//! Douglas–Peucker simplification.

/// Clockwise neighbour offsets (y down), starting west.
const RING: [(i64, i64); 8] = [
    (-1, 0),
    (-1, -1),
    (0, -1),
    (1, -1),
    (1, 0),
    (1, 1),
    (0, 1),
    (-1, 1),
];

/// Boundary pixels (centres) of the largest component of `inside` (`width * height`,
/// row-major), in tracing order; empty when nothing is set.
pub fn largest_contour(inside: &[bool], width: usize, height: usize) -> Vec<[f32; 2]> {
    if inside.len() < width * height || width == 0 || height == 0 {
        return Vec::new();
    }
    // Label 8-connected components; keep the largest.
    let mut label = vec![0u32; width * height];
    let mut best = (0u32, 0usize, 0usize); // (label, area, first pixel)
    let mut next = 0u32;
    let mut stack = Vec::new();
    for start in 0..width * height {
        if !inside[start] || label[start] != 0 {
            continue;
        }
        next += 1;
        label[start] = next;
        stack.push(start);
        let mut area = 0;
        while let Some(at) = stack.pop() {
            area += 1;
            let (x, y) = ((at % width) as i64, (at / width) as i64);
            for (dx, dy) in RING {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= width as i64 || ny >= height as i64 {
                    continue;
                }
                let n = ny as usize * width + nx as usize;
                if inside[n] && label[n] == 0 {
                    label[n] = next;
                    stack.push(n);
                }
            }
        }
        if area > best.1 {
            best = (next, area, start);
        }
    }
    if best.1 == 0 {
        return Vec::new();
    }
    let chosen = best.0;
    let member = |x: i64, y: i64| {
        x >= 0
            && y >= 0
            && x < width as i64
            && y < height as i64
            && label[y as usize * width + x as usize] == chosen
    };
    // Moore tracing from the raster-first pixel, entered from the west; the contour is
    // closed when the start pixel is about to be left towards the same pixel as at first.
    let start = ((best.2 % width) as i64, (best.2 / width) as i64);
    let mut contour = vec![[start.0 as f32, start.1 as f32]];
    let mut current = start;
    let mut back = 0usize;
    let mut second = None;
    let limit = 4 * best.1 + 16;
    for _ in 0..limit {
        let Some(index) = (1..=8)
            .map(|k| (back + k) % 8)
            .find(|&i| member(current.0 + RING[i].0, current.1 + RING[i].1))
        else {
            break; // isolated pixel
        };
        let next_pixel = (current.0 + RING[index].0, current.1 + RING[index].1);
        if current == start {
            match second {
                Some(first_move) if first_move == next_pixel => break,
                Some(_) => {}
                None => second = Some(next_pixel),
            }
        }
        // The background neighbour examined just before, seen from the new pixel.
        let (bx, by) = RING[(index + 7) % 8];
        let previous = (current.0 + bx - next_pixel.0, current.1 + by - next_pixel.1);
        back = RING.iter().position(|&o| o == previous).unwrap_or(0);
        current = next_pixel;
        contour.push([current.0 as f32, current.1 as f32]);
    }
    if contour.len() > 1 && contour.last() == contour.first() {
        contour.pop();
    }
    contour
}

/// Douglas–Peucker simplification of a closed polygon with tolerance `epsilon` (pixels).
pub fn simplify_closed(points: &[[f32; 2]], epsilon: f32) -> Vec<[f32; 2]> {
    if points.len() <= 3 {
        return points.to_vec();
    }
    // Split at the point farthest from the first, simplify both open halves.
    let first = points[0];
    let far = (1..points.len())
        .max_by(|&a, &b| distance2(points[a], first).total_cmp(&distance2(points[b], first)))
        .unwrap_or(points.len() / 2);
    let mut out = simplify_open(&points[..=far], epsilon);
    out.pop();
    let mut tail: Vec<[f32; 2]> = points[far..].to_vec();
    tail.push(first);
    let mut second = simplify_open(&tail, epsilon);
    second.pop();
    out.extend(second);
    out
}

fn simplify_open(points: &[[f32; 2]], epsilon: f32) -> Vec<[f32; 2]> {
    if points.len() <= 2 {
        return points.to_vec();
    }
    let (a, b) = (points[0], points[points.len() - 1]);
    let mut worst = (0, -1f32);
    for (i, &p) in points.iter().enumerate().take(points.len() - 1).skip(1) {
        let d = segment_distance(p, a, b);
        if d > worst.1 {
            worst = (i, d);
        }
    }
    if worst.1 <= epsilon {
        return vec![a, b];
    }
    let mut left = simplify_open(&points[..=worst.0], epsilon);
    left.pop();
    left.extend(simplify_open(&points[worst.0..], epsilon));
    left
}

fn distance2(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

fn segment_distance(p: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let length2 = dx * dx + dy * dy;
    if length2 == 0.0 {
        return distance2(p, a).sqrt();
    }
    let t = (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2).clamp(0.0, 1.0);
    distance2(p, [a[0] + t * dx, a[1] + t * dy]).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rectangle_traces_to_its_four_corners() {
        let (w, h) = (10, 8);
        let mut inside = vec![false; w * h];
        for y in 2..6 {
            for x in 3..8 {
                inside[y * w + x] = true;
            }
        }
        // A smaller separate blob that must be ignored.
        inside[0] = true;
        let contour = largest_contour(&inside, w, h);
        assert_eq!(contour.len(), 2 * (5 + 4) - 4);
        assert!(
            contour
                .iter()
                .all(|p| p[0] == 3.0 || p[0] == 7.0 || p[1] == 2.0 || p[1] == 5.0)
        );
        let mut corners = simplify_closed(&contour, 0.5);
        corners.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(
            corners,
            vec![[3.0, 2.0], [3.0, 5.0], [7.0, 2.0], [7.0, 5.0]]
        );
    }

    #[test]
    fn diagonal_and_single_pixels_do_not_loop() {
        let (w, h) = (5, 5);
        let mut inside = vec![false; w * h];
        for i in 0..5 {
            inside[i * w + i] = true;
        }
        let contour = largest_contour(&inside, w, h);
        assert_eq!(contour.len(), 8); // out and back along the diagonal
        let mut single = vec![false; 9];
        single[4] = true;
        assert_eq!(largest_contour(&single, 3, 3), vec![[1.0, 1.0]]);
        assert!(largest_contour(&[false; 4], 2, 2).is_empty());
    }
}
