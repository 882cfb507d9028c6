#[differentiate]
mod alternating {
    pub fn up<T: chainrule::Real>(x: T, rows: &[Vec<T>], n: u32) -> T {
        if n == 0 { x } else { down(x, rows, n - 1).sin() }
    }
    pub fn down<T: chainrule::Real>(x: T, rows: &[Vec<T>], n: u32) -> T {
        match n {
            0 => x * rows[0][0],
            _ => {
                let mut total = T::zero();
                for row in rows {
                    let mut minor = Vec::new();
                    minor.push(row.clone());
                    total += row[0] * up(x, &minor, n - 1);
                }
                total
            }
        }
    }
}